/* Progress reporting of long computations (fits): the callback a caller
 * passes in a parameter struct (e.g. hrf_hnn_params.progress). */
#ifndef HAMRF_PROGRESS_H
#define HAMRF_PROGRESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* `stage` names the work ("sampling", "solving" ...), fraction in [0, 1];
 * called on the calling thread, from outside parallel regions. */
typedef void (*hrf_progress_fn)(void *user, const char *stage, double fraction);

#ifdef __cplusplus
}
#endif

#endif
