/* The sampled Hamiltonian graph network, modes "pair" and "mp" (docs/math.md §10;
 * least squares as in §4): the model object, its modes and parameters,
 * allocation, accessors. The fit, evaluation, files and tabulation are in
 * the other files of src/hgn/ (listed in hgn_impl.h).
 *
 * Ĥ(q,p) = θ_E · Σ_pairs σ(w_E r_ij + b_E) + θ_K · Σ_i σ(W_K [|p_i|², 1/m_i] + b_K)
 *          + θ_T Σ_i |p_i|²/(2 m_i) + c_0
 * (the last feature is ours, see hamrf/hgn.h: θ_T is solved first, alone,
 * then θ_K on the remaining dq/dt). Mode mp (the node update) and its chain
 * rule: hgn_features.c. */
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- modes and parameters ---- */

static const char *const mode_names[] = {"pair", "mp"};

const char *hrf_hgn_mode_name(hrf_hgn_mode mode) {
    return (unsigned)mode < 2 ? mode_names[mode] : "unknown";
}

int hrf_hgn_mode_find(const char *name, hrf_hgn_mode *mode) {
    for (int i = 0; i < 2; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *mode = (hrf_hgn_mode)i;
            return HRF_OK;
        }
    return hrf_error(HRF_ENOTFOUND, "unknown graph-network mode '%s' (known: pair, mp)", name);
}

void hrf_hgn_params_default(hrf_hgn_params *p) {
    memset(p, 0, sizeof *p);
    p->mode = HRF_HGN_PAIR;
    p->edge_width = 200;
    p->kinetic_width = 50;
    p->sampler = &hrf_sampler_aswim;
    p->act = &hrf_activation_tanh;
    p->resample_duplicates = 1;
    p->sample_points = 20000;
    p->kinetic_linear = 1;
    p->node_width = 100;
    p->seed = 1;
    hrf_lstsq_params_default(&p->lstsq);
}

const char *hrf_hgn_params_check(const hrf_hgn_params *p) {
    if (p->mode != HRF_HGN_PAIR && p->mode != HRF_HGN_MP)
        return "unknown graph-network mode (known: pair, mp)";
    if (p->mode == HRF_HGN_MP && p->node_width == 0)
        return "the node width must be a positive integer (mode mp)";
    if (p->node_width > ((size_t)1 << 20)) return "encoder widths above 2^20 are not supported";
    if (p->edge_width == 0) return "the edge width must be a positive integer";
    if (p->kinetic_width == 0) return "the kinetic width must be a positive integer";
    if (p->edge_width > ((size_t)1 << 20) || p->kinetic_width > ((size_t)1 << 20))
        return "encoder widths above 2^20 are not supported";
    if (!p->sampler) return "no sampler given";
    if (!p->act) return "no activation given";
    if (p->sample_points < 2) return "sample_points must be at least 2 (SWIM draws pairs)";
    return hrf_lstsq_params_check(&p->lstsq);
}

/* ---- the model object ---- */

/* A zeroed model; MN > 0 makes it mode mp. */
hrf_hgn *hgn_alloc(const hrf_activation *act, size_t ME, size_t MK, size_t MN) {
    hrf_hgn *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->slab = calloc(3 * ME + 4 * MK + MN * ME + 2 * MN, sizeof(double));
    if (!m->slab) {
        free(m);
        return NULL;
    }
    m->mode = MN ? HRF_HGN_MP : HRF_HGN_PAIR, m->act = act, m->ME = ME, m->MK = MK, m->MN = MN;
    m->WE = m->slab;
    m->bE = m->WE + ME;
    m->thE = m->bE + ME;
    m->WK = m->thE + ME;
    m->bK = m->WK + 2 * MK;
    m->thK = m->bK + MK;
    m->WN = m->thK + MK;
    m->bN = m->WN + MN * ME;
    m->thN = m->bN + MN;
    return m;
}

/* The widest encoder: the scratch of the feature loops holds HGN_CHUNK rows of it. */
size_t hgn_work_width(const hrf_hgn *m) {
    size_t w = m->ME > m->MK ? m->ME : m->MK;
    return m->MN > w ? m->MN : w;
}

void hrf_hgn_free(hrf_hgn *m) {
    if (!m) return;
    free(m->slab);
    cJSON_Delete(m->prov);
    free(m);
}

static int all_finite(size_t n, const double *x) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int hrf_hgn_from_params(const hrf_activation *act, size_t edge_width, const double *W_E,
                        const double *b_E, const double *theta_E, size_t kinetic_width,
                        const double *W_K, const double *b_K, const double *theta_K, double c0,
                        hrf_hgn **out) {
    *out = NULL;
    if (!act) return hrf_error(HRF_EINVAL, "no activation given");
    if (edge_width == 0 || kinetic_width == 0)
        return hrf_error(HRF_EINVAL, "encoder widths must be positive (edge %zu, kinetic %zu)",
                         edge_width, kinetic_width);
    const size_t ME = edge_width, MK = kinetic_width;
    if (!all_finite(ME, W_E) || !all_finite(ME, b_E) || !all_finite(ME, theta_E) ||
        !all_finite(2 * MK, W_K) || !all_finite(MK, b_K) || !all_finite(MK, theta_K) ||
        !isfinite(c0))
        return hrf_error(HRF_EINVAL, "graph-network parameters must be finite");
    hrf_hgn *m = hgn_alloc(act, ME, MK, 0);
    if (!m) return hrf_error(HRF_ENOMEM, "out of memory");
    memcpy(m->WE, W_E, ME * sizeof *W_E);
    memcpy(m->bE, b_E, ME * sizeof *b_E);
    memcpy(m->thE, theta_E, ME * sizeof *theta_E);
    memcpy(m->WK, W_K, 2 * MK * sizeof *W_K);
    memcpy(m->bK, b_K, MK * sizeof *b_K);
    memcpy(m->thK, theta_K, MK * sizeof *theta_K);
    m->c0 = c0;
    *out = m;
    return HRF_OK;
}

int hrf_hgn_set_node(hrf_hgn *m, size_t node_width, const double *W_N, const double *b_N,
                     const double *theta_N) {
    const size_t MN = node_width, ME = m->ME;
    if (MN == 0) return hrf_error(HRF_EINVAL, "the node width must be positive");
    if (!all_finite(MN * ME, W_N) || !all_finite(MN, b_N) || !all_finite(MN, theta_N))
        return hrf_error(HRF_EINVAL, "graph-network parameters must be finite");
    hrf_hgn *n = hgn_alloc(m->act, ME, m->MK, MN);
    if (!n) return hrf_error(HRF_ENOMEM, "out of memory");
    memcpy(n->slab, m->slab, (3 * ME + 4 * m->MK) * sizeof *n->slab);
    memcpy(n->WN, W_N, MN * ME * sizeof *W_N);
    memcpy(n->bN, b_N, MN * sizeof *b_N);
    memcpy(n->thN, theta_N, MN * sizeof *theta_N);
    free(m->slab);
    /* take over n's slab and pointers, keep m's constants */
    m->slab = n->slab, m->MN = MN, m->mode = HRF_HGN_MP;
    m->WE = n->WE, m->bE = n->bE, m->thE = n->thE, m->WK = n->WK, m->bK = n->bK, m->thK = n->thK;
    m->WN = n->WN, m->bN = n->bN, m->thN = n->thN;
    m->cN = 0.0;
    free(n);
    return HRF_OK;
}

hrf_hgn_mode hrf_hgn_mode_of(const hrf_hgn *m) {
    return m->mode;
}
size_t hrf_hgn_node_width(const hrf_hgn *m) {
    return m->MN;
}
const double *hrf_hgn_W_N(const hrf_hgn *m) {
    return m->MN ? m->WN : NULL;
}
const double *hrf_hgn_b_N(const hrf_hgn *m) {
    return m->MN ? m->bN : NULL;
}
const double *hrf_hgn_theta_N(const hrf_hgn *m) {
    return m->MN ? m->thN : NULL;
}
double hrf_hgn_node_offset(const hrf_hgn *m) {
    return m->cN;
}
size_t hrf_hgn_edge_width(const hrf_hgn *m) {
    return m->ME;
}
size_t hrf_hgn_kinetic_width(const hrf_hgn *m) {
    return m->MK;
}
const hrf_activation *hrf_hgn_activation(const hrf_hgn *m) {
    return m->act;
}
const double *hrf_hgn_W_E(const hrf_hgn *m) {
    return m->WE;
}
const double *hrf_hgn_b_E(const hrf_hgn *m) {
    return m->bE;
}
const double *hrf_hgn_theta_E(const hrf_hgn *m) {
    return m->thE;
}
const double *hrf_hgn_W_K(const hrf_hgn *m) {
    return m->WK;
}
const double *hrf_hgn_b_K(const hrf_hgn *m) {
    return m->bK;
}
const double *hrf_hgn_theta_K(const hrf_hgn *m) {
    return m->thK;
}
double hrf_hgn_c0(const hrf_hgn *m) {
    return m->c0;
}
int hrf_hgn_kinetic_linear(const hrf_hgn *m) {
    return m->klin;
}
double hrf_hgn_theta_T(const hrf_hgn *m) {
    return m->thT;
}
int hrf_hgn_set_kinetic_linear(hrf_hgn *m, int on, double theta_T) {
    if (!isfinite(theta_T))
        return hrf_error(HRF_EINVAL, "the linear kinetic coefficient must be finite");
    if (!on && theta_T != 0.0)
        return hrf_error(HRF_EINVAL, "a model without the linear kinetic feature has theta_T = 0");
    m->klin = on != 0, m->thT = theta_T;
    return HRF_OK;
}
void hrf_hgn_offsets(const hrf_hgn *m, double *cE, double *cK) {
    if (cE) *cE = m->cE;
    if (cK) *cK = m->cK;
}
