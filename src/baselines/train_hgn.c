/* The graph network trained by gradient descent (hamrf/baseline.h,
 * docs/math.md §10.1): the architecture, PyTorch's initialisation, the
 * trained parameters as an ordinary hrf_hgn with the sampled fit's anchor,
 * and the training itself — the loss kernel of train_hgn_grad.c driven by
 * the loop that the HNN and ODE-net use (train_loop.c). */
#include "baselines/train_hgn_impl.h"

#include "core/sysinfo.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hrf_gd_hgn_arch_default(hrf_gd_hgn_arch *a) {
    memset(a, 0, sizeof *a);
    a->mode = HRF_HGN_PAIR;
    a->edge_width = 200;
    a->kinetic_width = 50;
    a->node_width = 100;
    a->kinetic_linear = 1;
}

const char *hrf_gd_hgn_arch_check(const hrf_gd_hgn_arch *a) {
    if (a->mode != HRF_HGN_PAIR && a->mode != HRF_HGN_MP)
        return "unknown graph-network mode (known: pair, mp)";
    if (a->edge_width == 0) return "the edge width must be a positive integer";
    if (a->kinetic_width == 0) return "the kinetic width must be a positive integer";
    if (a->mode == HRF_HGN_MP && a->node_width == 0)
        return "the node width must be a positive integer (mode mp)";
    if (a->edge_width > ((size_t)1 << 20) || a->kinetic_width > ((size_t)1 << 20) ||
        a->node_width > ((size_t)1 << 20))
        return "encoder widths above 2^20 are not supported";
    return NULL;
}

size_t hrf_gd_hgn_nparams(const hrf_gd_hgn_arch *a) {
    if (hrf_gd_hgn_arch_check(a)) return 0;
    const size_t ME = a->edge_width, MK = a->kinetic_width;
    const size_t MN = a->mode == HRF_HGN_MP ? a->node_width : 0;
    return 3 * ME + 4 * MK + MN * ME + 2 * MN + (a->kinetic_linear ? 1 : 0);
}

/* ---- initialisation ---- */

/* n draws from U(−1/√fan_in, 1/√fan_in) (nn.Linear's weights and biases). */
static double *linear_init(hrf_rng *rng, size_t n, size_t fan_in, double *q) {
    const double bound = 1.0 / sqrt((double)fan_in);
    for (size_t j = 0; j < n; j++)
        *q++ = hrf_rng_uniform_range(rng, -bound, bound);
    return q;
}

static void init_theta(const hrf_gd_hgn_arch *a, hrf_rng *rng, double *theta) {
    const size_t ME = a->edge_width, MK = a->kinetic_width;
    const size_t MN = a->mode == HRF_HGN_MP ? a->node_width : 0;
    double *q = theta;
    q = linear_init(rng, 2 * ME, 1, q); /* w_E, b_E: nn.Linear(1, M_E) */
    q = linear_init(rng, ME, ME, q);    /* θ_E: nn.Linear(M_E, 1, bias=False) */
    q = linear_init(rng, 3 * MK, 2, q); /* W_K, b_K: nn.Linear(2, M_K) */
    q = linear_init(rng, MK, MK, q);    /* θ_K */
    if (MN) {
        q = linear_init(rng, MN * ME + MN, ME, q); /* W_N, b_N: nn.Linear(M_E, M_N) */
        q = linear_init(rng, MN, MN, q);           /* θ_N */
    }
    if (a->kinetic_linear) linear_init(rng, 1, 1, q); /* θ_T: nn.Linear(1, 1, bias=False) */
}

static int check_all(const hrf_gd_params *p, const hrf_gd_hgn_arch *a) {
    const char *msg = p ? hrf_gd_params_check(p) : NULL;
    if (!msg) msg = hrf_gd_hgn_arch_check(a);
    return msg ? hrf_error(HRF_EINVAL, "%s", msg) : HRF_OK;
}

int hrf_gd_hgn_init(const hrf_gd_params *p, const hrf_gd_hgn_arch *a, double *theta) {
    int rc = check_all(p, a);
    if (rc) return rc;
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    init_theta(a, &rng, theta);
    return HRF_OK;
}

/* ---- the loss, the model ---- */

int hrf_gd_hgn_loss_grad(const hrf_gd_hgn_arch *a, const hrf_activation *act, const double *theta,
                         const hrf_pdata *d, double *loss, double *grad) {
    int rc = check_all(NULL, a);
    if (!rc) rc = hgn_check_pdata(d);
    if (rc) return rc;
    hgd *h = NULL;
    if ((rc = hgd_new(a, act ? act : &hrf_activation_tanh, d, 0, &h))) return rc;
    hgd_select(h, NULL, d->S);
    rc = hgd_loss_grad(h, theta, loss, grad);
    hgd_free(h);
    return rc;
}

int hrf_gd_hgn_model(const hrf_gd_hgn_arch *a, const hrf_activation *act, const double *theta,
                     const hrf_pdata *anchor, hrf_hgn **out) {
    *out = NULL;
    int rc = check_all(NULL, a);
    if (!rc && anchor) rc = hgn_check_pdata(anchor);
    if (rc) return rc;
    if (!act) act = &hrf_activation_tanh;
    const size_t ME = a->edge_width, MK = a->kinetic_width;
    const size_t MN = a->mode == HRF_HGN_MP ? a->node_width : 0;
    const double *wE = theta, *bE = wE + ME, *thE = bE + ME, *WK = thE + ME, *bK = WK + 2 * MK,
                 *thK = bK + MK, *WN = thK + MK, *bN = WN + MN * ME, *thN = bN + MN,
                 *thT = thN + MN;
    hrf_hgn *m = NULL;
    rc = hrf_hgn_from_params(act, ME, wE, bE, thE, MK, WK, bK, thK, 0.0, &m);
    if (!rc && MN) rc = hrf_hgn_set_node(m, MN, WN, bN, thN);
    if (!rc) rc = hrf_hgn_set_kinetic_linear(m, a->kinetic_linear, a->kinetic_linear ? *thT : 0.0);
    if (!rc && anchor) rc = hgn_anchor(m, anchor, NULL);
    if (rc) {
        hrf_hgn_free(m);
        return rc;
    }
    *out = m;
    return HRF_OK;
}

/* ---- training ---- */

int hrf_gd_train_hgn(const hrf_gd_params *p, const hrf_gd_hgn_arch *a, const hrf_pdata *d,
                     hrf_hgn **out, hrf_gd_report *rep) {
    const double t_start = hrf_now();
    *out = NULL;
    int rc = check_all(p, a);
    if (!rc) rc = hgn_check_pdata(d);
    if (rc) return rc;
    hgd *h = NULL;
    if ((rc = hgd_new(a, p->act, d, 0, &h))) return rc;
    const size_t np = hrf_gd_hgn_nparams(a);
    double *theta = malloc(np * sizeof *theta);
    hrf_hgn *m = NULL;
    cJSON *prov = NULL;
    hrf_gd_report r;
    if (!theta) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    init_theta(a, &rng, theta);
    const gd_problem prob = {d->S, np, hgd_select, hgd_loss_grad, h};
    if ((rc = gd_run(p, &prob, &rng, theta, &r))) goto done;
    if ((rc = hrf_gd_hgn_model(a, p->act, theta, d, &m))) goto done;
    if (!(prov = gd_provenance_new(p, &r)) || hgn_provenance_add_data(prov, d)) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    hrf_hgn_set_provenance(m, prov);
    prov = NULL;
    r.total_seconds = hrf_now() - t_start;
    if (rep) *rep = r;
    *out = m;
    m = NULL;
done:
    cJSON_Delete(prov);
    hrf_hgn_free(m);
    hgd_free(h);
    free(theta);
    return rc;
}
