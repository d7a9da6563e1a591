/* Tests of the one model interface (hamrf/model.h) and the model-file
 * skeleton (src/models/model_file.c): every kind through the type table gives
 * exactly what its own functions give; files record the fit's provenance and
 * keep it through load → save; metadata crosses the API as JSON text; bad
 * input (unknown kind, extra meta that is not an object) is refused. */
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

#include <cjson/cJSON.h>

#include "core/npz.h"
#include "hamrf/abi.h"
#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/model.h"
#include "hamrf/odenet.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"

static hrf_dataset *pendulum(size_t n, uint64_t seed) {
    const hrf_system_type *t;
    assert_int_equal(hrf_system_find("pendulum", &t), HRF_OK);
    hrf_system sys;
    hrf_system_init(&sys, t);
    hrf_generate_params gp;
    hrf_generate_params_default(&gp);
    gp.n = n, gp.seed = seed;
    hrf_dataset *d = NULL;
    assert_int_equal(hrf_dataset_generate(&sys, &gp, &d), HRF_OK);
    return d;
}

static hrf_pdata *chain(size_t n, size_t snapshots) {
    hrf_psystem *s = NULL;
    const size_t shape[3] = {n, 1, 1};
    assert_int_equal(hrf_psystem_springs_new(HRF_TOPO_CHAIN, shape, 2, NULL, 1.0, &s), HRF_OK);
    hrf_pdata_params pp;
    hrf_pdata_params_default(&pp);
    pp.snapshots = snapshots;
    hrf_pdata *d = NULL;
    assert_int_equal(hrf_pdata_generate(s, &pp, &d), HRF_OK);
    hrf_psystem_free(s);
    return d;
}

/* The JSON object parsed from text (the test owns it). */
static cJSON *parse(const char *json) {
    assert_non_null(json);
    cJSON *o = cJSON_Parse(json);
    assert_true(cJSON_IsObject(o));
    return o;
}

static const char *str_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_type_table(void **state) {
    (void)state;
    const hrf_model_type *const *t = hrf_model_types();
    size_t n = 0;
    for (; t[n]; n++) {
        const hrf_model_type *f = NULL;
        assert_int_equal(hrf_model_type_find(t[n]->name, &f), HRF_OK);
        assert_ptr_equal(f, t[n]);
        assert_non_null(t[n]->load), assert_non_null(t[n]->save), assert_non_null(t[n]->free);
        assert_non_null(t[n]->field), assert_non_null(t[n]->errors), assert_non_null(t[n]->dims);
        assert_non_null(t[n]->describe), assert_non_null(t[n]->description);
    }
    assert_int_equal(n, 3);
    assert_int_equal(hrf_model_type_hgn.data, HRF_DATA_PARTICLES);
    assert_int_equal(hrf_model_type_hnn.data, HRF_DATA_BOX);
    const hrf_model_type *f = NULL;
    assert_int_equal(hrf_model_type_find("mlp", &f), HRF_ENOTFOUND);
    assert_non_null(strstr(hrf_last_error(), "\"hnn\", \"odenet\", \"hgn\""));
    /* The layout table bindings check against (hamrf/abi.h). */
    assert_int_equal(hrf_abi_sizeof("hrf_hnn_params"), sizeof(hrf_hnn_params));
    assert_int_equal(hrf_abi_sizeof("hrf_model_errors"), sizeof(hrf_model_errors));
    assert_int_equal(hrf_abi_sizeof("hrf_not_a_struct"), 0);
    assert_int_equal(hrf_abi_sizeof(NULL), 0);
}

/* An HNN through the table: the same errors, field and dimension as its own
 * functions, bit for bit; the provenance of the fit in the file. */
static void test_hnn_through_table(void **state) {
    (void)state;
    hrf_dataset *d = pendulum(1000, 1);
    hrf_hnn_params p;
    hrf_hnn_params_default(&p);
    p.width = 100;
    hrf_hnn *m = NULL;
    assert_int_equal(hrf_hnn_fit(&p, d, &m, NULL), HRF_OK);
    const char *path = "test_models_hnn.npz";
    assert_int_equal(hrf_hnn_save(m, path, NULL), HRF_OK);

    hrf_model *any = NULL;
    assert_int_equal(hrf_model_load(path, &any), HRF_OK);
    assert_ptr_equal(hrf_model_type_of(any), &hrf_model_type_hnn);
    assert_string_equal(hrf_model_kind(any), "hnn");
    assert_int_equal(hrf_model_dim(any), 2);
    assert_non_null(hrf_model_hnn(any));
    assert_null(hrf_model_odenet(any)), assert_null(hrf_model_hgn(any));
    char desc[32];
    assert_int_equal(hrf_model_describe(any, desc, sizeof desc), 3);
    assert_string_equal(desc, "hnn");

    hrf_hnn_errors e;
    hrf_model_errors g;
    assert_int_equal(hrf_hnn_errors_on(m, d, &e), HRF_OK);
    assert_int_equal(hrf_model_errors_on(any, d, &g), HRF_OK);
    assert_true(g.has_H && g.has_grad && !g.has_rel_dxdt);
    assert_true(g.rel_l2_H == e.rel_l2_H && g.rel_l2_grad == e.rel_l2_grad);
    assert_true(g.mse_dxdt == e.mse_dxdt && isnan(g.rel_l2_dxdt));
    assert_int_equal(g.n, 1000), assert_int_equal(g.dim, 2), assert_int_equal(g.particles, 0);

    hrf_field f;
    hrf_model_field(any, &f);
    double y1[2], y2[2];
    assert_int_equal(f.rhs(f.ctx, 1, d->x, y1), HRF_OK);
    assert_int_equal(hrf_hnn_vector_field(m, 1, d->x, y2), HRF_OK);
    assert_true(y1[0] == y2[0] && y1[1] == y2[1]);

    /* The provenance the fit recorded, first in the meta. */
    cJSON *meta = parse(hrf_model_meta_json(any));
    assert_string_equal(meta->child->string, "sampler");
    assert_string_equal(str_of(meta, "sampler"), "aswim");
    assert_string_equal(str_of(meta, "system"), "pendulum");
    assert_string_equal(str_of(meta, "model"), "hnn");
    cJSON_Delete(meta);

    hrf_system sys;
    assert_int_equal(hrf_model_system(any, &sys), HRF_OK);
    assert_string_equal(sys.type->name, "pendulum");
    hrf_model_free(any);
    hrf_hnn_free(m);
    hrf_dataset_free(d);
    unlink(path);
}

/* Loading and saving again keeps the meta text exactly (provenance and the
 * caller's extra members included), for the HNN and the ODE-net. */
static void test_provenance_round_trip(void **state) {
    (void)state;
    hrf_dataset *d = pendulum(600, 2);
    hrf_hnn_params p;
    hrf_hnn_params_default(&p);
    p.width = 50;
    hrf_hnn *h = NULL;
    hrf_odenet *o = NULL;
    assert_int_equal(hrf_hnn_fit(&p, d, &h, NULL), HRF_OK);
    assert_int_equal(hrf_odenet_fit(&p, d, &o, NULL), HRF_OK);
    const char *a = "test_models_a.npz", *b = "test_models_b.npz";
    for (int kind = 0; kind < 2; kind++) {
        int rc = kind ? hrf_odenet_save(o, a, "{\"note\":\"kept\",\"run\":7}")
                      : hrf_hnn_save(h, a, "{\"note\":\"kept\",\"run\":7}");
        assert_int_equal(rc, HRF_OK);
        hrf_model *m1 = NULL, *m2 = NULL;
        assert_int_equal(hrf_model_load(a, &m1), HRF_OK);
        assert_int_equal(hrf_model_save(m1, b, NULL), HRF_OK);
        assert_int_equal(hrf_model_load(b, &m2), HRF_OK);
        cJSON *j1 = parse(hrf_model_meta_json(m1)), *j2 = parse(hrf_model_meta_json(m2));
        assert_true(cJSON_Compare(j1, j2, 1));
        assert_string_equal(str_of(j2, "note"), "kept");
        assert_string_equal(str_of(j2, "solver_requested"), "auto");
        cJSON_Delete(j1), cJSON_Delete(j2);
        hrf_model_free(m1), hrf_model_free(m2);
    }
    /* The public loaders give the same meta as text. */
    char *text = NULL;
    hrf_odenet *l = NULL;
    assert_int_equal(hrf_odenet_load(b, &l, &text), HRF_OK);
    cJSON *j = parse(text);
    assert_string_equal(str_of(j, "model"), "odenet");
    assert_string_equal(str_of(j, "sampler"), "aswim");
    cJSON_Delete(j);
    hrf_free(text);
    hrf_odenet_free(l);
    hrf_hnn_free(h), hrf_odenet_free(o);
    hrf_dataset_free(d);
    unlink(a), unlink(b);
}

/* The graph network through the table: particle data, errors equal to its
 * own, an empty field (it needs the particle system), no built-in system. */
static void test_hgn_through_table(void **state) {
    (void)state;
    hrf_pdata *d = chain(6, 8);
    hrf_hgn_params p;
    hrf_hgn_params_default(&p);
    p.edge_width = 40, p.kinetic_width = 10;
    hrf_hgn *m = NULL;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_OK);
    const char *path = "test_models_hgn.npz";
    assert_int_equal(hrf_hgn_save(m, path, NULL), HRF_OK);
    hrf_model *any = NULL;
    assert_int_equal(hrf_model_load(path, &any), HRF_OK);
    assert_ptr_equal(hrf_model_type_of(any), &hrf_model_type_hgn);
    assert_int_equal(hrf_model_dim(any), 0);
    char desc[32];
    hrf_model_describe(any, desc, sizeof desc);
    assert_string_equal(desc, "hgn (pair)");
    hrf_hgn_errors e;
    hrf_model_errors g;
    assert_int_equal(hrf_hgn_errors_on(m, d, &e), HRF_OK);
    assert_int_equal(hrf_model_errors_on(any, d, &g), HRF_OK);
    assert_true(g.rel_l2_grad == e.rel_l2_grad && g.mse_dxdt == e.mse_dxdt);
    assert_int_equal(g.particles, 6), assert_int_equal(g.n, 8), assert_int_equal(g.dim, 2);
    hrf_field f;
    hrf_model_field(any, &f);
    assert_null(f.rhs);
    hrf_system sys;
    assert_int_equal(hrf_model_system(any, &sys), HRF_ENOTFOUND);
    cJSON *meta = parse(hrf_model_meta_json(any));
    assert_string_equal(str_of(meta, "system"), "springs");
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(meta, "data_meta")));
    cJSON_Delete(meta);
    hrf_model_free(any);
    hrf_hgn_free(m);
    hrf_pdata_free(d);
    unlink(path);
}

/* Bad input: a meta "model" nobody knows, extra meta that is not an object
 * (refused before anything is written, an existing file kept), a data
 * set's meta as text. */
static void test_bad_input(void **state) {
    (void)state;
    const char *path = "test_models_bad.npz";
    hrf_npz_writer *w = hrf_npz_writer_new();
    cJSON *meta = cJSON_Parse("{\"format\":\"hamrf\",\"kind\":\"model\",\"version\":1,"
                              "\"model\":\"transformer\"}");
    double x = 1.0;
    assert_int_equal(hrf_npz_writer_add(w, "W", 0, NULL, &x), HRF_OK);
    assert_int_equal(hrf_npz_writer_set_meta(w, meta), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
    cJSON_Delete(meta);
    hrf_model *m = NULL;
    assert_int_equal(hrf_model_load(path, &m), HRF_EFORMAT);
    assert_null(m);
    assert_non_null(strstr(hrf_last_error(), path));
    assert_non_null(strstr(hrf_last_error(), "\"hnn\", \"odenet\", \"hgn\""));
    unlink(path);

    hrf_dataset *d = pendulum(300, 3);
    hrf_hnn_params p;
    hrf_hnn_params_default(&p);
    p.width = 20;
    hrf_hnn *h = NULL;
    assert_int_equal(hrf_hnn_fit(&p, d, &h, NULL), HRF_OK);
    assert_int_equal(hrf_hnn_save(h, path, "{\"a\":1}"), HRF_OK);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    static const char *const bad[] = {"[1,2]", "{\"a\":", "3", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(hrf_hnn_save(h, path, bad[i]), HRF_EINVAL);
        assert_non_null(strstr(hrf_last_error(), "expected a JSON object"));
    }
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), size); /* the old file, untouched */
    fclose(f);

    char *text = hrf_meta_json(d->meta);
    cJSON *j = parse(text);
    assert_string_equal(str_of(j, "system"), "pendulum");
    cJSON_Delete(j);
    hrf_free(text);
    assert_null(hrf_meta_json(NULL));
    hrf_hnn_free(h);
    hrf_dataset_free(d);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_hnn_through_table),
        cmocka_unit_test(test_provenance_round_trip),
        cmocka_unit_test(test_hgn_through_table),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
