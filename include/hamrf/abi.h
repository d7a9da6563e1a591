/* For bindings: the sizes of the public structs as this library was built
 * (a binding that mirrors a struct checks its own size against this). */
#ifndef HAMRF_ABI_H
#define HAMRF_ABI_H

#include <stddef.h>

#include "hamrf/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sizeof the named public struct ("hrf_hnn_params", "hrf_dataset", ...), or 0
 * for a name the table does not list (src/abi/abi.c). */
HRF_API size_t hrf_abi_sizeof(const char *type_name);

#ifdef __cplusplus
}
#endif

#endif
