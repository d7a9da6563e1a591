/* The graph network's model files (docs/formats.md): save and load through
 * the model-file skeleton (src/models/model_file.h), with meta objects and in
 * the public JSON-text forms. */
#include "hgn/hgn_impl.h"

#include "core/meta.h"
#include "core/npz.h"
#include "hamrf/status.h"
#include "models/model_file.h"

#include <stdlib.h>
#include <string.h>

/* ---- files ---- */

/* The keys a graph network file's meta owns (src/models/model_file.h). */
static const char *const hgn_keys[] = {
    "mode", "activation", "edge_width", "kinetic_width", "kinetic_linear", "node_width", NULL};

int hrf_hgn_save_meta(const hrf_hgn *m, const char *path, const cJSON *extra) {
    hrf_npz_writer *w;
    cJSON *meta;
    int rc = hrf_model_file_begin("hgn", m->prov, extra, hgn_keys, &w, &meta);
    if (rc) return rc;
    cJSON_AddStringToObject(meta, "mode", hrf_hgn_mode_name(m->mode));
    cJSON_AddStringToObject(meta, "activation", m->act->name);
    cJSON_AddNumberToObject(meta, "edge_width", (double)m->ME);
    cJSON_AddNumberToObject(meta, "kinetic_width", (double)m->MK);
    cJSON_AddBoolToObject(meta, "kinetic_linear", m->klin);
    if (m->MN) cJSON_AddNumberToObject(meta, "node_width", (double)m->MN);
    size_t sE1[2] = {m->ME, 1}, sE[1] = {m->ME}, sK2[2] = {m->MK, 2}, sK[1] = {m->MK};
    rc = hrf_npz_writer_add(w, "W_E", 2, sE1, m->WE);
    if (!rc) rc = hrf_npz_writer_add(w, "b_E", 1, sE, m->bE);
    if (!rc) rc = hrf_npz_writer_add(w, "theta_E", 1, sE, m->thE);
    if (!rc) rc = hrf_npz_writer_add(w, "W_K", 2, sK2, m->WK);
    if (!rc) rc = hrf_npz_writer_add(w, "b_K", 1, sK, m->bK);
    if (!rc) rc = hrf_npz_writer_add(w, "theta_K", 1, sK, m->thK);
    if (!rc) rc = hrf_npz_writer_add(w, "c0", 0, NULL, &m->c0);
    if (!rc) rc = hrf_npz_writer_add(w, "c_E", 0, NULL, &m->cE);
    if (!rc) rc = hrf_npz_writer_add(w, "c_K", 0, NULL, &m->cK);
    if (!rc) rc = hrf_npz_writer_add(w, "theta_T", 0, NULL, &m->thT);
    if (m->MN) {
        size_t sN2[2] = {m->MN, m->ME}, sN[1] = {m->MN};
        if (!rc) rc = hrf_npz_writer_add(w, "W_N", 2, sN2, m->WN);
        if (!rc) rc = hrf_npz_writer_add(w, "b_N", 1, sN, m->bN);
        if (!rc) rc = hrf_npz_writer_add(w, "theta_N", 1, sN, m->thN);
        if (!rc) rc = hrf_npz_writer_add(w, "c_N", 0, NULL, &m->cN);
    }
    if (rc) {
        cJSON_Delete(meta);
        hrf_npz_writer_free(w);
        return rc;
    }
    return hrf_model_file_finish(w, meta, NULL, NULL, path);
}

void hrf_hgn_set_provenance(hrf_hgn *m, cJSON *prov) {
    cJSON_Delete(m->prov);
    m->prov = prov;
}

const cJSON *hrf_hgn_provenance(const hrf_hgn *m) {
    return m->prov;
}

int hrf_hgn_load_meta(const char *path, hrf_hgn **out, cJSON **meta_out) {
    *out = NULL;
    if (meta_out) *meta_out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *WE = NULL, *bE = NULL, *thE = NULL, *WK = NULL, *bK = NULL, *thK = NULL, *c0 = NULL;
    double *cE = NULL, *cK = NULL, *thT = NULL, *WN = NULL, *bN = NULL, *thN = NULL, *cN = NULL;
    hrf_hgn *m = NULL;
    const hrf_activation *act = NULL;
    int rc = hrf_model_file_open(path, "hgn", &z, &meta, &act);
    if (rc) return rc;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(meta, "mode");
    hrf_hgn_mode md;
    if (!cJSON_IsString(mode) || hrf_hgn_mode_find(mode->valuestring, &md)) {
        rc = hrf_error(HRF_EFORMAT, "%s: meta: expected \"mode\": \"pair\" or \"mp\"", path);
        goto done;
    }
    size_t sE1[2] = {0, 1}, sK2[2] = {0, 2};
    if ((rc = hrf_npz_read(z, "W_E", 2, sE1, &WE))) goto done;
    if ((rc = hrf_npz_read(z, "W_K", 2, sK2, &WK))) goto done;
    if (sE1[0] == 0 || sK2[0] == 0) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entries 'W_E', 'W_K': widths must be positive, found "
                       "%zu and %zu",
                       path, sE1[0], sK2[0]);
        goto done;
    }
    size_t sE[1] = {sE1[0]}, sK[1] = {sK2[0]};
    if ((rc = hrf_npz_read(z, "b_E", 1, sE, &bE)) ||
        (rc = hrf_npz_read(z, "theta_E", 1, sE, &thE)) ||
        (rc = hrf_npz_read(z, "b_K", 1, sK, &bK)) ||
        (rc = hrf_npz_read(z, "theta_K", 1, sK, &thK)) ||
        (rc = hrf_npz_read(z, "c0", 0, NULL, &c0)) || (rc = hrf_npz_read(z, "c_E", 0, NULL, &cE)) ||
        (rc = hrf_npz_read(z, "c_K", 0, NULL, &cK)))
        goto done;
    if ((rc = hrf_check_finite(path, "W_E", WE, sE[0])) ||
        (rc = hrf_check_finite(path, "b_E", bE, sE[0])) ||
        (rc = hrf_check_finite(path, "theta_E", thE, sE[0])) ||
        (rc = hrf_check_finite(path, "W_K", WK, 2 * sK[0])) ||
        (rc = hrf_check_finite(path, "b_K", bK, sK[0])) ||
        (rc = hrf_check_finite(path, "theta_K", thK, sK[0])) ||
        (rc = hrf_check_finite(path, "c0", c0, 1)) || (rc = hrf_check_finite(path, "c_E", cE, 1)) ||
        (rc = hrf_check_finite(path, "c_K", cK, 1)))
        goto done;
    /* The exact kinetic feature (theta_T, meta "kinetic_linear") is newer than
     * the format: files without it are models without that feature. */
    const cJSON *kl = cJSON_GetObjectItemCaseSensitive(meta, "kinetic_linear");
    int klin = cJSON_IsTrue(kl);
    if (kl && !cJSON_IsBool(kl)) {
        rc = hrf_error(HRF_EFORMAT, "%s: meta: \"kinetic_linear\" must be true or false", path);
        goto done;
    }
    /* A file that says kinetic_linear true was written with theta_T: its
     * absence is damage (e.g. a changed name in the zip directory), not an
     * older file, and reading it as 0 would give another model. */
    if (klin && !hrf_npz_has(z, "theta_T")) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entry 'theta_T' not found, but meta \"kinetic_linear\" is true "
                       "(expected the exact kinetic feature's coefficient)",
                       path);
        goto done;
    }
    if (hrf_npz_has(z, "theta_T")) {
        if ((rc = hrf_npz_read(z, "theta_T", 0, NULL, &thT)) ||
            (rc = hrf_check_finite(path, "theta_T", thT, 1)))
            goto done;
    }
    if (!klin && thT && *thT != 0.0) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entry 'theta_T' is %g but meta \"kinetic_linear\" is not "
                       "true",
                       path, *thT);
        goto done;
    }
    if ((rc = hrf_hgn_from_params(act, sE[0], WE, bE, thE, sK[0], WK, bK, thK, *c0, &m))) goto done;
    m->cE = *cE, m->cK = *cK;
    m->klin = klin, m->thT = thT ? *thT : 0.0;
    if (md == HRF_HGN_MP) {
        size_t sN2[2] = {0, sE[0]};
        if ((rc = hrf_npz_read(z, "W_N", 2, sN2, &WN))) goto done;
        size_t sN[1] = {sN2[0]};
        if ((rc = hrf_npz_read(z, "b_N", 1, sN, &bN)) ||
            (rc = hrf_npz_read(z, "theta_N", 1, sN, &thN)) ||
            (rc = hrf_npz_read(z, "c_N", 0, NULL, &cN)) ||
            (rc = hrf_check_finite(path, "c_N", cN, 1)))
            goto done;
        if ((rc = hrf_hgn_set_node(m, sN[0], WN, bN, thN))) {
            rc = hrf_error_prefix(HRF_EFORMAT, "%s: node encoder", path);
            goto done;
        }
        m->cN = *cN;
    }
    if (!(m->prov = hrf_model_provenance_of_meta(meta, hgn_keys))) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    *out = m;
    if (meta_out) {
        *meta_out = meta;
        meta = NULL;
    }
    rc = HRF_OK;
done:
    if (rc) {
        hrf_hgn_free(m);
        *out = NULL;
    }
    free(WE), free(bE), free(thE), free(WK), free(bK), free(thK), free(c0), free(cE), free(cK);
    free(thT), free(WN), free(bN), free(thN), free(cN);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

/* The public, JSON-text forms (hamrf/hgn.h). */
int hrf_hgn_save(const hrf_hgn *m, const char *path, const char *extra_json) {
    cJSON *extra;
    int rc = hrf_json_object_parse(extra_json, "hrf_hgn_save: extra meta", &extra);
    return rc ? rc : hrf_json_done(hrf_hgn_save_meta(m, path, extra), extra);
}

int hrf_hgn_load(const char *path, hrf_hgn **out, char **meta_json) {
    cJSON *meta = NULL;
    int rc = hrf_hgn_load_meta(path, out, meta_json ? &meta : NULL);
    rc = hrf_json_give(rc, meta, meta_json);
    if (rc && *out) {
        hrf_hgn_free(*out);
        *out = NULL;
    }
    return rc;
}
