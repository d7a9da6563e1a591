/* The HNN's model files (docs/formats.md, "HNN model"): save and load through the
 * model-file skeleton (src/models/model_file.h), with cJSON meta objects and
 * in the public JSON-text forms; the model's provenance. */
#include "core/meta.h"
#include "core/npz.h"
#include "hamrf/hnn.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"
#include "models/model_file.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The keys an HNN file's meta owns (src/models/model_file.h). */
static const char *const hnn_keys[] = {"activation", "width", "dim", "correction_h", NULL};

int hrf_hnn_save_meta(const hrf_hnn *m, const char *path, const cJSON *extra) {
    hrf_npz_writer *w;
    cJSON *meta;
    int rc = hrf_model_file_begin("hnn", m->prov, extra, hnn_keys, &w, &meta);
    if (rc) return rc;
    cJSON_AddStringToObject(meta, "activation", m->act->name);
    cJSON_AddNumberToObject(meta, "width", (double)m->width);
    cJSON_AddNumberToObject(meta, "dim", (double)m->dim);
    if (m->corr_h != 0.0) cJSON_AddNumberToObject(meta, "correction_h", m->corr_h);
    size_t sW[2] = {m->width, m->dim}, sM[1] = {m->width};
    rc = hrf_npz_writer_add(w, "W", 2, sW, m->W);
    if (!rc) rc = hrf_npz_writer_add(w, "b", 1, sM, m->b);
    if (!rc) rc = hrf_npz_writer_add(w, "c", 1, sM, m->c);
    if (!rc) rc = hrf_npz_writer_add(w, "c0", 0, NULL, &m->c0);
    if (rc) {
        cJSON_Delete(meta);
        hrf_npz_writer_free(w);
        return rc;
    }
    return hrf_model_file_finish(w, meta, NULL, NULL, path);
}

void hrf_hnn_set_provenance(hrf_hnn *m, cJSON *prov) {
    cJSON_Delete(m->prov);
    m->prov = prov;
}

const cJSON *hrf_hnn_provenance(const hrf_hnn *m) {
    return m->prov;
}

int hrf_hnn_load_meta(const char *path, hrf_hnn **out, cJSON **meta_out) {
    *out = NULL;
    if (meta_out) *meta_out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *W = NULL, *b = NULL, *c = NULL, *c0 = NULL;
    hrf_hnn *m = NULL;
    const hrf_activation *act = NULL;
    int rc = hrf_model_file_open(path, "hnn", &z, &meta, &act);
    if (rc) return rc;
    size_t sW[2]; /* width, 2d */
    if ((rc = hrf_model_file_read_layer(z, path, &W, &b, &sW[0], &sW[1]))) goto done;
    size_t sM[1] = {sW[0]};
    if ((rc = hrf_model_file_read(z, path, "c", 1, sM, &c)) ||
        (rc = hrf_model_file_read(z, path, "c0", 0, NULL, &c0)))
        goto done;
    m = hnn_alloc(sW[1], sW[0], act);
    if (!m) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(m->W, W, sW[0] * sW[1] * sizeof *W);
    memcpy(m->b, b, sW[0] * sizeof *b);
    memcpy(m->c, c, sW[0] * sizeof *c);
    m->c0 = *c0;
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(meta, "correction_h");
    if (ch) {
        if (!cJSON_IsNumber(ch) || !isfinite(ch->valuedouble)) {
            rc = hrf_error(HRF_EFORMAT, "%s: meta: \"correction_h\" must be a finite number", path);
            goto done;
        }
        m->corr_h = ch->valuedouble;
    }
    if (!(m->prov = hrf_model_provenance_of_meta(meta, hnn_keys))) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    hnn_prepare(m);
    *out = m;
    m = NULL;
    if (meta_out) {
        *meta_out = meta;
        meta = NULL;
    }
done:
    free(W), free(b), free(c), free(c0);
    hrf_hnn_free(m);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

/* The public, JSON-text forms (hamrf/hnn.h). */
int hrf_hnn_save(const hrf_hnn *m, const char *path, const char *extra_json) {
    cJSON *extra;
    int rc = hrf_json_object_parse(extra_json, "hrf_hnn_save: extra meta", &extra);
    return rc ? rc : hrf_json_done(hrf_hnn_save_meta(m, path, extra), extra);
}

int hrf_hnn_load(const char *path, hrf_hnn **out, char **meta_json) {
    cJSON *meta = NULL;
    int rc = hrf_hnn_load_meta(path, out, meta_json ? &meta : NULL);
    rc = hrf_json_give(rc, meta, meta_json);
    if (rc && *out) {
        hrf_hnn_free(*out);
        *out = NULL;
    }
    return rc;
}
