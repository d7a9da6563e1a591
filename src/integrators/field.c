/* Vector fields for the integrators (hamrf/field.h, docs/math.md §1, §8):
 * the central-difference Jacobian that implicit schemes use when a field has
 * no analytic one. (The fields themselves live with what they describe: the
 * built-in systems in src/systems/systems.c, the models in theirs.) */
#include "hamrf/field.h"

#include "hamrf/status.h"

#include <math.h>
#include <string.h>

/* ---- central-difference Jacobian --------------------------------------- */

/* Relative step 2^-20 ≈ 9.5e-7 (a power of two, so x ± ε is formed with one
 * rounding at most): truncation ε²|f'''|/6 ≈ 1.5e-13·|f'''|, rounding
 * u·|f|/ε ≈ 2e-10·|f|. */
#define FD_REL_STEP 0x1.0p-20

int hrf_field_jac_fd(const hrf_field *f, size_t n, const double *x, double *jac, double *work) {
    if (!f || !f->rhs || (n > 0 && (!x || !jac || !work)))
        return hrf_error(HRF_EINVAL, "hrf_field_jac_fd: field, its rhs, x, jac and work must "
                                     "not be NULL");
    const size_t dim = f->dim;
    double *xw = work;           /* (n, dim) the perturbed states */
    double *fw = work + n * dim; /* (n, dim) rhs at the perturbed states */
    if (n == 0 || dim == 0) return HRF_OK;
    memcpy(xw, x, n * dim * sizeof *xw);
    for (size_t b = 0; b < dim; b++) {
        /* Column b: f(x + ε e_b) into jac[:, :, b], then subtract f(x − ε e_b)
         * and divide by the step actually taken, (x + ε) − (x − ε). */
        for (size_t i = 0; i < n; i++) {
            const double xb = x[i * dim + b];
            xw[i * dim + b] = xb + FD_REL_STEP * fmax(1.0, fabs(xb));
        }
        int rc = f->rhs(f->ctx, n, xw, fw);
        if (rc != HRF_OK) return rc;
        for (size_t i = 0; i < n; i++)
            for (size_t a = 0; a < dim; a++)
                jac[(i * dim + a) * dim + b] = fw[i * dim + a];
        for (size_t i = 0; i < n; i++) {
            const double xb = x[i * dim + b];
            xw[i * dim + b] = xb - FD_REL_STEP * fmax(1.0, fabs(xb));
        }
        rc = f->rhs(f->ctx, n, xw, fw);
        if (rc != HRF_OK) return rc;
        for (size_t i = 0; i < n; i++) {
            const double xb = x[i * dim + b], eps = FD_REL_STEP * fmax(1.0, fabs(xb));
            const double span = (xb + eps) - (xb - eps);
            for (size_t a = 0; a < dim; a++) {
                double *J = &jac[(i * dim + a) * dim + b];
                *J = (*J - fw[i * dim + a]) / span;
            }
            xw[i * dim + b] = xb; /* restore for the next column */
        }
    }
    return HRF_OK;
}
