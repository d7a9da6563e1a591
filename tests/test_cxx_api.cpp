// The public API from C++: hamrf.h compiles as C++ (extern "C" guards, no
// C-only constructs in the headers) and a program links against the shared
// libhamrf.so with the exported symbols alone. It fits a small HNN on a
// pendulum data set, saves it with extra meta given as JSON text, loads it
// through the model-type table and checks it: a width-300 A-SWIM fit of
// 2000 pendulum points has a training relative gradient error of 1.0e-7
// (hamrf train/eval on the same set); 1e-5 leaves two orders of margin for
// other BLAS kernels while any wrong wiring (dimensions, coefficients, the
// wrong model) would give O(1).
#include "hamrf.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

static int failures = 0, checks = 0;
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        ++checks;                                                                                  \
        if (!(cond)) {                                                                             \
            ++failures;                                                                            \
            std::fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                         #cond, hrf_last_error());                                                 \
        }                                                                                          \
    } while (0)

int main() {
    CHECK(std::string(hrf_version()) == HRF_VERSION_STRING);
    const hrf_system_type *type = nullptr;
    CHECK(hrf_system_find("pendulum", &type) == HRF_OK);
    hrf_system sys;
    hrf_system_init(&sys, type);
    hrf_generate_params gp;
    hrf_generate_params_default(&gp);
    gp.n = 2000;
    hrf_dataset *data = nullptr;
    CHECK(hrf_dataset_generate(&sys, &gp, &data) == HRF_OK);
    char *meta = hrf_meta_json(data->meta);
    CHECK(meta && std::strstr(meta, "\"system\":\"pendulum\""));
    hrf_free(meta);

    hrf_hnn_params p;
    hrf_hnn_params_default(&p);
    p.width = 300;
    hrf_hnn *m = nullptr;
    hrf_hnn_fit_report rep;
    CHECK(hrf_hnn_fit(&p, data, &m, &rep) == HRF_OK);
    const char *path = "test_cxx_api_model.npz";
    CHECK(hrf_hnn_save(m, path, "{\"note\":\"from C++\"}") == HRF_OK);
    CHECK(hrf_hnn_save(m, path, "[1,2]") == HRF_EINVAL); // not an object: refused, file kept

    hrf_model *any = nullptr;
    CHECK(hrf_model_load(path, &any) == HRF_OK);
    if (any) {
        CHECK(hrf_model_type_of(any) == &hrf_model_type_hnn);
        CHECK(hrf_model_dim(any) == 2);
        CHECK(std::strstr(hrf_model_meta_json(any), "\"note\":\"from C++\"") != nullptr);
        CHECK(std::strstr(hrf_model_meta_json(any), "\"sampler\":\"aswim\"") != nullptr);
        hrf_model_errors e;
        CHECK(hrf_model_errors_on(any, data, &e) == HRF_OK);
        CHECK(e.has_grad && e.rel_l2_grad < 1e-5 && e.n == 2000);
    }
    const hrf_model_type *t = nullptr;
    CHECK(hrf_model_type_find("nonesuch", &t) == HRF_ENOTFOUND);
    CHECK(std::strstr(hrf_last_error(), "hnn") != nullptr);
    hrf_model_free(any);
    hrf_hnn_free(m);
    hrf_dataset_free(data);
    std::remove(path);
    std::printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
