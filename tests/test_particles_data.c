/* Tests of the particle data sets and of bad input to the particle systems
 * (src/systems/pdata.c, src/systems/particles.c; docs/math.md §10):
 * generate → save → load, bad systems, parameters and files. The systems'
 * physics is tested in test_particles_systems.c; the helpers both use are in
 * test_util_particles.h.
 *
 * Independent references used here: an independent velocity-Verlet loop
 * over hrf_psystem_eval for the snapshots; and byte-exact round trips. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/meta.h"
#include "systems/particles_impl.h"
#include "core/npz.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"
#include "test_util_particles.h"

/* ---- data sets ----------------------------------------------------------- */

static char tmpdir[64];

static void path_in_tmp(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* Checks every snapshot against eval and the next snapshot of the same
 * trajectory against an independent velocity-Verlet loop over eval. */
static void check_snapshots(const hrf_psystem *s, const hrf_pdata *d, size_t every, double dt) {
    const size_t nq = d->N * (size_t)d->D, per = d->S / d->trajectories;
    double *dq = dalloc(nq), *dp = dalloc(nq), *q = dalloc(nq), *p = dalloc(nq), *f = dalloc(nq);
    for (size_t k = 0; k < d->S; k++) {
        double H;
        assert_int_equal(hrf_psystem_eval(s, d->q + k * nq, d->p + k * nq, &H, dq, dp), HRF_OK);
        assert_memory_equal(dp, d->dpdt + k * nq, nq * sizeof *dp);
        assert_memory_equal(dq, d->dqdt + k * nq, nq * sizeof *dq);
        assert_true(fabs(H - d->H[k]) <= 1e-12 * fabs(H));
        assert_true(fabs(d->t[k] - (double)((k % per + 1) * every) * dt) < 1e-12);
        if ((k + 1) % per == 0) continue;
        memcpy(q, d->q + k * nq, nq * sizeof *q), memcpy(p, d->p + k * nq, nq * sizeof *p);
        for (size_t t = 0; t < every; t++) {
            assert_int_equal(hrf_psystem_eval(s, q, p, NULL, NULL, f), HRF_OK);
            for (size_t i = 0; i < nq; i++)
                p[i] += 0.5 * dt * f[i];
            for (size_t i = 0; i < d->N; i++)
                for (int a = 0; a < d->D; a++)
                    q[i * d->D + a] += dt * p[i * d->D + a] / d->mass[i];
            assert_int_equal(hrf_psystem_eval(s, q, p, NULL, NULL, f), HRF_OK);
            for (size_t i = 0; i < nq; i++)
                p[i] += 0.5 * dt * f[i];
        }
        double eq = 0.0;
        for (size_t i = 0; i < nq; i++)
            eq =
                fmax(eq, fabs(q[i] - d->q[(k + 1) * nq + i]) + fabs(p[i] - d->p[(k + 1) * nq + i]));
        assert_true(eq < 1e-12); /* the same operations: equal up to rounding order */
    }
    free(dq), free(dp), free(q), free(p), free(f);
}

static void assert_pdata_equal(const hrf_pdata *a, const hrf_pdata *b) {
    const size_t n = a->S * a->N * (size_t)a->D;
    assert_true(a->S == b->S && a->N == b->N && a->D == b->D && a->n_bonds == b->n_bonds);
    assert_true(a->box == b->box && a->cutoff == b->cutoff && a->trajectories == b->trajectories);
    assert_memory_equal(a->q, b->q, n * sizeof(double));
    assert_memory_equal(a->p, b->p, n * sizeof(double));
    assert_memory_equal(a->dqdt, b->dqdt, n * sizeof(double));
    assert_memory_equal(a->dpdt, b->dpdt, n * sizeof(double));
    assert_memory_equal(a->H, b->H, a->S * sizeof(double));
    assert_memory_equal(a->t, b->t, a->S * sizeof(double));
    assert_memory_equal(a->mass, b->mass, a->N * sizeof(double));
    assert_true((a->bonds == NULL) == (b->bonds == NULL));
    if (a->bonds) assert_memory_equal(a->bonds, b->bonds, 2 * a->n_bonds * sizeof(uint32_t));
}

static void test_generate_save_load(void **state) {
    (void)state;
    char path[128];
    /* springs: 8-chain in 2D, 2 trajectories x 3 snapshots */
    hrf_pair_potential v;
    hrf_pair_potential_default(HRF_PAIR_ANHARMONIC, &v);
    size_t shape[3] = {8, 0, 0};
    hrf_psystem *s = NULL, *s2 = NULL;
    assert_int_equal(hrf_psystem_springs_new(HRF_TOPO_CHAIN, shape, 2, &v, 1.0, &s), HRF_OK);
    hrf_pdata_params par;
    hrf_pdata_params_default(&par);
    par.trajectories = 2, par.snapshots = 3, par.every = 7, par.seed = 42;
    hrf_pdata *d = NULL, *d2 = NULL, *e = NULL;
    assert_int_equal(hrf_pdata_generate(s, &par, &d), HRF_OK);
    assert_true(d->S == 6 && d->N == 8 && d->D == 2 && d->n_bonds == 7 && d->trajectories == 2);
    check_snapshots(s, d, 7, 0.01);                             /* dt 0 → the springs' 0.01 */
    assert_int_equal(hrf_pdata_generate(s, &par, &d2), HRF_OK); /* deterministic */
    assert_pdata_equal(d, d2);
    hrf_pdata_free(d2);
    path_in_tmp(path, sizeof path, "chain.npz");
    assert_int_equal(hrf_pdata_save(d, path), HRF_OK);
    assert_int_equal(hrf_pdata_load(path, &e), HRF_OK);
    assert_pdata_equal(d, e);
    assert_string_equal(cJSON_GetObjectItem(HRF_META(e), "kind")->valuestring, "particles");
    assert_string_equal(cJSON_GetObjectItem(HRF_META(e), "topology")->valuestring, "chain");
    assert_true(cJSON_GetObjectItem(HRF_META(e), "every")->valuedouble == 7);
    /* the system rebuilt from the file */
    assert_int_equal(hrf_psystem_from_pdata(e, &s2), HRF_OK);
    assert_string_equal(hrf_psystem_name(s2), "springs");
    check_snapshots(s2, e, 7, 0.01);
    hrf_psystem_free(s2);
    hrf_pdata_free(e);
    hrf_pdata_free(d);
    hrf_psystem_free(s);

    /* LJ: periodic, box and cutoff entries */
    assert_int_equal(hrf_psystem_lj_new(108, 0.8442, NULL, &s), HRF_OK);
    hrf_pdata_params_system_default(s, &par);
    par.snapshots = 3, par.every = 5, par.burn_in = 4;
    assert_true(par.dt == 0.005);
    assert_int_equal(hrf_pdata_generate(s, &par, &d), HRF_OK);
    assert_true(d->bonds == NULL && d->box == hrf_psystem_box(s) && d->cutoff == 2.5);
    assert_true(fabs(d->t[0] - 9 * 0.005) < 1e-15);
    path_in_tmp(path, sizeof path, "lj.npz");
    assert_int_equal(hrf_pdata_save(d, path), HRF_OK);
    assert_int_equal(hrf_pdata_load(path, &e), HRF_OK);
    assert_pdata_equal(d, e);
    assert_int_equal(hrf_psystem_from_pdata(e, &s2), HRF_OK);
    assert_string_equal(hrf_psystem_name(s2), "lj");
    double *dp = dalloc(3 * 108);
    assert_int_equal(hrf_psystem_eval(s2, e->q, e->p, NULL, NULL, dp), HRF_OK);
    assert_memory_equal(dp, e->dpdt, 3 * 108 * sizeof *dp);
    free(dp);
    hrf_psystem_free(s2);
    hrf_pdata_free(e);
    hrf_pdata_free(d);
    hrf_psystem_free(s);

    /* benchmark ring: its own ensemble survives the round trip */
    assert_int_equal(hrf_psystem_benchmark_ring_new(&s), HRF_OK);
    hrf_pdata_params_system_default(s, &par);
    par.trajectories = 2, par.snapshots = 2;
    assert_int_equal(hrf_pdata_generate(s, &par, &d), HRF_OK);
    assert_true(d->S == 4 && fabs(d->t[1] - 0.2) < 1e-15);
    path_in_tmp(path, sizeof path, "ring.npz");
    assert_int_equal(hrf_pdata_save(d, path), HRF_OK);
    assert_int_equal(hrf_pdata_load(path, &e), HRF_OK);
    assert_int_equal(hrf_psystem_from_pdata(e, &s2), HRF_OK);
    assert_string_equal(hrf_psystem_name(s2), "benchmark_ring");
    hrf_psystem_free(s2);
    hrf_pdata_free(e);
    hrf_pdata_free(d);
    hrf_psystem_free(s);
}

/* ---- bad input ----------------------------------------------------------- */

static void expect_err(int rc, int want, const char *word) {
    if (rc != want) fail_msg("status %d, expected %d (%s)", rc, want, hrf_last_error());
    if (word && !strstr(hrf_last_error(), word))
        fail_msg("message '%s' lacks '%s'", hrf_last_error(), word);
}

static void test_bad_systems(void **state) {
    (void)state;
    hrf_psystem *s = (hrf_psystem *)1;
    size_t sh8[3] = {8, 0, 0}, sh0[3] = {0, 0, 0}, sh33[3] = {3, 3, 0}, sh334[3] = {3, 3, 4};
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 0, NULL, 1.0, &s), HRF_EINVAL, "D");
    assert_null(s);
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 4, NULL, 1.0, &s), HRF_EINVAL, "D");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh0, 2, NULL, 1.0, &s), HRF_EINVAL, ">= 1");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_LATTICE, sh0, 2, NULL, 1.0, &s), HRF_EINVAL,
               "lattice");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh33, 2, NULL, 1.0, &s), HRF_EINVAL,
               "extent");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_LATTICE, sh33, 3, NULL, 1.0, &s), HRF_EINVAL,
               "D = 3");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_LATTICE, sh334, 2, NULL, 1.0, &s), HRF_EINVAL,
               "extent");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_LATTICE, sh8, 1, NULL, 1.0, &s), HRF_EINVAL,
               "chain");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_RING, sh8, 1, NULL, 1.0, &s), HRF_EINVAL, "ring");
    size_t sh1[3] = {1, 0, 0}, sh2[3] = {2, 0, 0};
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh1, 2, NULL, 1.0, &s), HRF_EINVAL, "2");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_RING, sh2, 2, NULL, 1.0, &s), HRF_EINVAL, "3");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 2, NULL, 0.0, &s), HRF_EINVAL, "mass");
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 2, NULL, NAN, &s), HRF_EINVAL, "mass");
    hrf_pair_potential v;
    hrf_pair_potential_default(HRF_PAIR_LJ, &v);
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 2, &v, 1.0, &s), HRF_EINVAL, "lj");
    hrf_pair_potential_default(HRF_PAIR_HARMONIC, &v);
    v.k = -1.0;
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 2, &v, 1.0, &s), HRF_EINVAL, "k");
    size_t huge[3] = {1000000, 1000000, 1000000};
    expect_err(hrf_psystem_springs_new(HRF_TOPO_LATTICE, huge, 3, NULL, 1.0, &s), HRF_ETOOBIG,
               NULL);
    size_t huge2[3] = {(size_t)1 << 40, 0, 0};
    expect_err(hrf_psystem_springs_new(HRF_TOPO_CHAIN, huge2, 1, NULL, 1.0, &s), HRF_ETOOBIG,
               "2^32");
    /* LJ */
    expect_err(hrf_psystem_lj_new(100, 0.8442, NULL, &s), HRF_EINVAL, "4 n^3");
    assert_non_null(strstr(hrf_last_error(), "32 and 108"));
    expect_err(hrf_psystem_lj_new(0, 0.8442, NULL, &s), HRF_EINVAL, "4 n^3");
    expect_err(hrf_psystem_lj_new(108, 0.0, NULL, &s), HRF_EINVAL, "density");
    expect_err(hrf_psystem_lj_new(108, -1.0, NULL, &s), HRF_EINVAL, "density");
    expect_err(hrf_psystem_lj_new(108, NAN, NULL, &s), HRF_EINVAL, "density");
    expect_err(hrf_psystem_lj_new(32, 0.8442, NULL, &s), HRF_EINVAL, "twice the cutoff");
    hrf_pair_potential_default(HRF_PAIR_MORSE, &v);
    expect_err(hrf_psystem_lj_new(108, 0.8442, &v, &s), HRF_EINVAL, "lj");
    /* absurd sizes refused before allocating: 4·(2^16)³ ≈ 1.1e15 and 4·10⁸ */
    expect_err(hrf_psystem_lj_new((size_t)4 << 48, 0.8442, NULL, &s), HRF_ETOOBIG, NULL);
    expect_err(hrf_psystem_lj_new((size_t)4 * 1000 * 1000 * 1000 * 1000 * 1000, 0.8442, NULL, &s),
               HRF_ETOOBIG, NULL);
    assert_null(s);
    /* parameters */
    hrf_pdata_params par;
    hrf_pdata_params_default(&par);
    assert_null(hrf_pdata_params_check(&par));
    par.trajectories = 0;
    assert_non_null(hrf_pdata_params_check(&par));
    hrf_pdata_params_default(&par);
    par.dt = -0.1;
    assert_non_null(hrf_pdata_params_check(&par));
    par.dt = NAN;
    assert_non_null(hrf_pdata_params_check(&par));
    hrf_pdata_params_default(&par);
    par.temperature = -1.0;
    assert_non_null(hrf_pdata_params_check(&par));
    hrf_pdata_params_default(&par);
    par.every = 0;
    assert_non_null(hrf_pdata_params_check(&par));
    /* absurd data set: refused before allocating */
    assert_int_equal(hrf_psystem_springs_new(HRF_TOPO_CHAIN, sh8, 2, NULL, 1.0, &s), HRF_OK);
    hrf_pdata_params_default(&par);
    par.trajectories = (size_t)1 << 40;
    hrf_pdata *d = (hrf_pdata *)1;
    expect_err(hrf_pdata_generate(s, &par, &d), HRF_ETOOBIG, "GiB");
    assert_null(d);
    /* a step so large the trajectory blows up */
    hrf_pdata_params_default(&par);
    par.dt = 1e3, par.every = 50;
    expect_err(hrf_pdata_generate(s, &par, &d), HRF_EDATA, "too large");
    hrf_psystem_free(s);
}

/* Writes a particles file with one defect. */
static void write_bad(const char *path, const char *defect) {
    const size_t S = 2, N = 4, D = 2, n = S * N * D;
    double q[16], p[16], H[2] = {1, 2}, m[4] = {1, 1, 1, 1}, b[6] = {0, 1, 1, 2, 2, 3};
    double box = 10.0, cut = 2.5;
    for (size_t i = 0; i < n; i++)
        q[i] = p[i] = 0.1 * (double)i;
    size_t s3[3] = {S, N, D}, s1[1] = {S}, sn[1] = {N}, sb[2] = {3, 2}, s3p[3] = {S, N, 3};
    hrf_npz_writer *w = hrf_npz_writer_new();
    assert_non_null(w);
    if (!strcmp(defect, "nan_q")) q[5] = NAN;
    if (!strcmp(defect, "bond_range")) b[5] = 4;
    if (!strcmp(defect, "bond_frac")) b[2] = 0.5;
    if (!strcmp(defect, "mass_zero")) m[2] = 0.0;
    assert_int_equal(hrf_npz_writer_add(w, "q", 3, s3, q), HRF_OK);
    if (!strcmp(defect, "p_shape")) {
        double big[24] = {0};
        assert_int_equal(hrf_npz_writer_add(w, "p", 3, s3p, big), HRF_OK);
    } else {
        assert_int_equal(hrf_npz_writer_add(w, "p", 3, s3, p), HRF_OK);
    }
    assert_int_equal(hrf_npz_writer_add(w, "dqdt", 3, s3, p), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "dpdt", 3, s3, p), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "H", 1, s1, H), HRF_OK);
    if (strcmp(defect, "no_mass"))
        assert_int_equal(hrf_npz_writer_add(w, "mass", 1, sn, m), HRF_OK);
    if (strcmp(defect, "no_bonds"))
        assert_int_equal(hrf_npz_writer_add(w, "bonds", 2, sb, b), HRF_OK);
    if (!strcmp(defect, "both")) {
        assert_int_equal(hrf_npz_writer_add(w, "box", 0, NULL, &box), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "cutoff", 0, NULL, &cut), HRF_OK);
    }
    cJSON *meta = cJSON_CreateObject();
    assert_non_null(meta);
    cJSON_AddStringToObject(meta, "format", "hamrf");
    cJSON_AddStringToObject(meta, "kind", strcmp(defect, "kind") ? "particles" : "dataset");
    cJSON_AddNumberToObject(meta, "version", 1);
    cJSON_AddNumberToObject(meta, "trajectories", strcmp(defect, "traj") ? 1 : 3);
    assert_int_equal(hrf_npz_writer_set_meta(w, meta), HRF_OK);
    cJSON_Delete(meta);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
}

static void test_bad_files(void **state) {
    (void)state;
    struct {
        const char *defect;
        int rc;
        const char *word; /* besides the file name */
    } cases[] = {
        {"none", HRF_OK, NULL},
        {"nan_q", HRF_EDATA, "'q'"},
        {"p_shape", HRF_EFORMAT, "p"},
        {"bond_range", HRF_EDATA, "'bonds'"},
        {"bond_frac", HRF_EDATA, "'bonds'"},
        {"mass_zero", HRF_EDATA, "'mass'"},
        {"no_mass", HRF_ENOTFOUND, "mass"},
        {"no_bonds", HRF_EFORMAT, "'bonds'"},
        {"both", HRF_EFORMAT, "'box'"},
        {"kind", HRF_EFORMAT, "particles"},
        {"traj", HRF_EFORMAT, "trajectories"},
    };
    char path[128];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char name[64];
        snprintf(name, sizeof name, "bad_%s.npz", cases[c].defect);
        path_in_tmp(path, sizeof path, name);
        write_bad(path, cases[c].defect);
        hrf_pdata *d = (hrf_pdata *)1;
        int rc = hrf_pdata_load(path, &d);
        if (rc != cases[c].rc)
            fail_msg("%s: status %d, expected %d (%s)", cases[c].defect, rc, cases[c].rc,
                     hrf_last_error());
        if (rc) {
            assert_null(d);
            if (!strstr(hrf_last_error(), name) ||
                (cases[c].word && !strstr(hrf_last_error(), cases[c].word)))
                fail_msg("%s: message '%s' lacks the file or '%s'", cases[c].defect,
                         hrf_last_error(), cases[c].word);
        } else {
            /* a file without meta potential: no true system */
            hrf_psystem *s = NULL;
            expect_err(hrf_psystem_from_pdata(d, &s), HRF_EDATA, "potential");
            hrf_pdata_free(d);
        }
        unlink(path);
    }
    hrf_pdata *d = NULL;
    path_in_tmp(path, sizeof path, "absent.npz");
    assert_int_not_equal(hrf_pdata_load(path, &d), HRF_OK);
    assert_non_null(strstr(hrf_last_error(), "absent.npz"));
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/hamrf_particles.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    const char *names[] = {"chain.npz", "lj.npz", "ring.npz"};
    char path[128];
    for (int i = 0; i < 3; i++) {
        path_in_tmp(path, sizeof path, names[i]);
        unlink(path);
    }
    return rmdir(tmpdir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_save_load),
        cmocka_unit_test(test_bad_systems),
        cmocka_unit_test(test_bad_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
