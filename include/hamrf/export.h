/* HRF_API marks the symbols libhamrf exports. The library is built with
 * -fvisibility=hidden (CMakeLists.txt), so only what a public header
 * declares with HRF_API is visible in libhamrf.so: the hrf_ functions and
 * type tables, nothing internal. */
#ifndef HAMRF_EXPORT_H
#define HAMRF_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define HRF_API __attribute__((visibility("default")))
#else
#define HRF_API
#endif

#endif
