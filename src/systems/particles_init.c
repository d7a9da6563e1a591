/* Initial states of the particle systems (docs/math.md §10): each kind's
 * ensemble (perturbed rest geometry, the benchmark ring's uniform draws,
 * Gaussian momenta at a temperature on the fcc lattice), and the parameters
 * of snapshot generation with each kind's defaults. */
#include "systems/particles_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* initial states (docs/math.md §10)                                        */
/* ------------------------------------------------------------------------ */

/* p_i −= m_i P / M: zero total momentum. */
static void remove_momentum(const hrf_psystem *s, double *p) {
    const int D = s->D;
    double P[3] = {0, 0, 0}, M = 0.0;
    for (size_t i = 0; i < s->N; i++) {
        M += s->mass[i];
        for (int a = 0; a < D; a++)
            P[a] += p[i * D + a];
    }
    for (size_t i = 0; i < s->N; i++)
        for (int a = 0; a < D; a++)
            p[i * D + a] -= s->mass[i] * P[a] / M;
}

int psys_springs_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                      double *p) {
    const size_t n = s->N * (size_t)s->D;
    const double A = par->amplitude * s->v.r0;
    for (size_t i = 0; i < n; i++)
        q[i] = s->rest[i] + hrf_rng_uniform_range(rng, -A, A);
    for (size_t i = 0; i < n; i++)
        p[i] = par->p_sigma * hrf_rng_normal(rng);
    remove_momentum(s, p);
    return HRF_OK;
}

int psys_ring_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                   double *p) {
    const size_t N = s->N;
    const int D = s->D;
    double vbar[3] = {0, 0, 0};
    for (size_t i = 0; i < N * D; i++)
        q[i] = hrf_rng_uniform_range(rng, 0.0, 2.0);
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++) {
            p[i * D + a] = hrf_rng_uniform_range(rng, 0.0, 0.1); /* velocity for now */
            vbar[a] += p[i * D + a] / (double)N;
        }
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            p[i * D + a] = s->mass[i] * (p[i * D + a] - vbar[a]);
    return HRF_OK;
}

/* LAMMPS `velocity all create T seed mom yes dist gaussian` does the same
 * three things (Gaussian draw, zero momentum, rescale to exactly T with
 * D(N − 1) degrees of freedom); its random stream differs. */
int psys_lj_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                 double *p) {
    const size_t N = s->N;
    const int D = s->D;
    memcpy(q, s->rest, N * D * sizeof *q);
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            p[i * D + a] = sqrt(s->mass[i]) * hrf_rng_normal(rng); /* m v, v ~ N(0, 1/m) */
    remove_momentum(s, p);
    double twoK = 2.0 * psys_kinetic(s, p), dof = (double)D * ((double)N - 1.0);
    double scale = twoK > 0.0 && dof > 0.0 ? sqrt(par->temperature * dof / twoK) : 0.0;
    for (size_t i = 0; i < N * D; i++)
        p[i] *= scale;
    return HRF_OK;
}

int hrf_psystem_init_state(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng,
                           double *q, double *p) {
    if (!s->type->init)
        return hrf_error(HRF_EINVAL,
                         "system '%s' (rebuilt from a file) has no ensemble of initial states",
                         s->type->name);
    const char *msg = hrf_pdata_params_check(par);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    return s->type->init(s, par, rng, q, p);
}

/* ------------------------------------------------------------------------ */
/* generation parameters                                                    */
/* ------------------------------------------------------------------------ */

void hrf_pdata_params_default(hrf_pdata_params *p) {
    p->trajectories = 1;
    p->snapshots = 10;
    p->every = 10;
    p->dt = 0.0; /* the system's */
    p->temperature = 1.0;
    p->amplitude = 0.1;
    p->p_sigma = 0.1;
    p->seed = 1;
    p->burn_in = 0;
}

void hrf_pdata_params_system_default(const hrf_psystem *s, hrf_pdata_params *p) {
    hrf_pdata_params_default(p);
    p->dt = s->type->dt;
    p->trajectories = s->type->trajectories;
    p->snapshots = s->type->snapshots;
    p->every = s->type->every;
}

const char *hrf_pdata_params_check(const hrf_pdata_params *p) {
    if (p->trajectories == 0) return "the number of trajectories must be >= 1";
    if (p->snapshots == 0) return "the number of snapshots per trajectory must be >= 1";
    if (p->every == 0) return "the number of steps between snapshots must be >= 1";
    if (!(p->dt >= 0.0) || !isfinite(p->dt))
        return "the time step dt must be finite and > 0 (0: the system's default)";
    if (!(p->temperature >= 0.0) || !isfinite(p->temperature))
        return "the temperature must be finite and >= 0";
    if (!(p->amplitude >= 0.0) || !isfinite(p->amplitude))
        return "the displacement amplitude must be finite and >= 0";
    if (!(p->p_sigma >= 0.0) || !isfinite(p->p_sigma))
        return "the momentum standard deviation must be finite and >= 0";
    return NULL;
}
