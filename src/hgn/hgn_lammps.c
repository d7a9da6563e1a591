/* A pair-mode graph network's learned pair potential as a LAMMPS
 * `pair_style table` file (hamrf/hgn.h, docs/formats.md "LAMMPS pair
 * table"): V̂(r) = θ_E·σ(w_E r + b_E) + c_E (docs/math.md §10) and its
 * analytic derivatives, shifted to vanish at the cutoff. */
#include "core/textfile.h"
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void hrf_hgn_lammps_table_params_default(hrf_hgn_lammps_table_params *p) {
    memset(p, 0, sizeof *p);
    p->points = 100000;
    p->keyword = "HAMRF";
}

const char *hrf_hgn_lammps_table_params_check(const hrf_hgn_lammps_table_params *p) {
    if (p->points < 2 || p->points > 100000000)
        return "the table needs 2 to 100 000 000 points (--points N)";
    if (!(p->r_min > 0.0) || !isfinite(p->r_min))
        return "the table's inner radius must be a finite number > 0 (--rmin R)";
    if (!(p->cutoff > p->r_min) || !isfinite(p->cutoff))
        return "the table's cutoff must be finite and larger than its inner radius (--rmin R < "
               "cutoff)";
    if (!p->keyword || !p->keyword[0] || p->keyword[0] == '#' || strlen(p->keyword) > 64)
        return "the section keyword must be 1 to 64 characters, not starting with '#' (--keyword "
               "NAME)";
    for (const char *c = p->keyword; *c; c++)
        if (!isgraph((unsigned char)*c)) return "the section keyword must not contain blanks";
    if (p->units)
        for (const char *c = p->units; *c; c++)
            if (!isalnum((unsigned char)*c))
                return "the units must be a LAMMPS unit style (lj, metal, ...)";
    return NULL;
}

/* V̂''(r) = Σ_k θ_k σ''(w_k r + b_k) w_k². */
static double pair_d2(const hrf_hgn *m, double r) {
    double s = 0.0;
    for (size_t k = 0; k < m->ME; k++)
        s += m->thE[k] * m->act->d2(m->WE[k] * r + m->bE[k]) * m->WE[k] * m->WE[k];
    return s;
}

int hrf_hgn_lammps_table_write(const hrf_hgn *m, const hrf_hgn_lammps_table_params *p,
                               const char *path, hrf_hgn_lammps_table_report *rep) {
    const char *msg = hrf_hgn_lammps_table_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (m->MN)
        return hrf_error(HRF_EINVAL, "an mp-mode graph network is not pairwise-additive: its "
                                     "energy has no pair table (train with --mode pair)");
    if (!m->act->d2)
        return hrf_error(HRF_EINVAL, "activation %s has no second derivative for FPRIME",
                         m->act->name);
    const size_t n = p->points;
    const double rlo = p->r_min, rhi = p->cutoff;
    /* LAMMPS's own grid for "R rlo rhi" (pair_table.cpp: rlo + (rhi − rlo)·i/(n − 1)) */
#define GRID(i) (rlo + (rhi - rlo) * (double)(i) / (double)(n - 1))
    const double shift = hrf_hgn_pair_energy(m, GRID(n - 1), NULL);
    if (!isfinite(shift))
        return hrf_error(HRF_ENUMERIC, "the model's pair energy at the cutoff %g is not finite",
                         rhi);
    hrf_textfile tf;
    int rc = hrf_textfile_open(&tf, path);
    if (rc) return rc;
    FILE *f = tf.f;
    if (p->units)
        fprintf(f, "# UNITS: %s CONTRIBUTOR: hamrf (learned pair potential)\n", p->units);
    else
        fprintf(f, "# CONTRIBUTOR: hamrf (learned pair potential; units: those of the training "
                   "data)\n");
    fprintf(f,
            "# V(r) = pair energy of the pair-mode graph network%s%s, minus V(rc) = %.17g so "
            "that V(rc) = 0\n"
            "# F(r) = -dV/dr from the network's analytic derivative; FPRIME = -d2V/dr2 "
            "(analytic)\n"
            "# %zu points uniform in r on [%.17g, %.17g]; use: pair_style table linear %zu\n"
            "#   pair_coeff * * FILE %s %.17g\n\n",
            p->source ? " " : "", p->source ? p->source : "", shift, n, rlo, rhi, n, p->keyword,
            rhi);
    fprintf(f, "%s\nN %zu R %.17g %.17g FPRIME %.17g %.17g\n\n", p->keyword, n, rlo, rhi,
            -pair_d2(m, GRID(0)), -pair_d2(m, GRID(n - 1)));
    hrf_hgn_lammps_table_report r = {shift, 0, 0, 0, INFINITY};
    for (size_t i = 0; i < n; i++) {
        const double x = GRID(i);
        double dV;
        const double V = hrf_hgn_pair_energy(m, x, &dV) - shift;
        if (!isfinite(V) || !isfinite(dV)) {
            hrf_textfile_abort(&tf);
            return hrf_error(HRF_ENUMERIC,
                             "the model's pair energy or force at r = %g is not finite", x);
        }
        const double E = i == n - 1 ? 0.0 : V;
        if (i == 0) r.e_lo = E, r.f_lo = -dV;
        if (E < r.e_min) r.e_min = E, r.r_emin = x;
        fprintf(f, "%zu %.17g %.17g %.17g\n", i + 1, x, E, -dV);
    }
#undef GRID
    if ((rc = hrf_textfile_commit(&tf))) return rc;
    if (rep) *rep = r;
    return HRF_OK;
}
