/* Sizes and field offsets of the public structs, for bindings that mirror
 * them (python/hamrf does with ctypes): a binding compares its own layout with
 * these at import and refuses a library whose layout differs (hamrf/abi.h). */
#include "hamrf.h"

#include <stddef.h>
#include <string.h>

#define ENTRY(T)                                                                                   \
    { #T, sizeof(T) }

static const struct {
    const char *name;
    size_t size;
} sizes[] = {ENTRY(hrf_lstsq_params),
             ENTRY(hrf_lstsq_report),
             ENTRY(hrf_hnn_params),
             ENTRY(hrf_hnn_fit_report),
             ENTRY(hrf_hnn_errors),
             ENTRY(hrf_generate_params),
             ENTRY(hrf_dataset),
             ENTRY(hrf_system),
             ENTRY(hrf_system_type),
             ENTRY(hrf_model_errors),
             ENTRY(hrf_odenet_errors),
             ENTRY(hrf_hgn_params),
             ENTRY(hrf_hgn_fit_report),
             ENTRY(hrf_hgn_errors),
             ENTRY(hrf_pdata),
             ENTRY(hrf_hgn_graph),
             ENTRY(hrf_field),
             ENTRY(hrf_integrator_params),
             ENTRY(hrf_rollout_params),
             ENTRY(hrf_optim_params),
             ENTRY(hrf_gd_params),
             ENTRY(hrf_gd_report),
             ENTRY(hrf_gd_hgn_arch),
             ENTRY(hrf_optimizer_type),
             ENTRY(hrf_rollout_errors),
             ENTRY(hrf_hgn_field_ctx),
             ENTRY(hrf_md_import_params),
             ENTRY(hrf_md_frames),
             ENTRY(hrf_hgn_lammps_table_params),
             ENTRY(hrf_hgn_lammps_table_report)};

size_t hrf_abi_sizeof(const char *type_name) {
    for (size_t i = 0; type_name && i < sizeof sizes / sizeof *sizes; i++)
        if (strcmp(sizes[i].name, type_name) == 0) return sizes[i].size;
    return 0;
}
