/* libFuzzer target: the command line's value parsers (cli/cli.c:
 * cli_parse_double, _size, _u64, _range, _shape, _list, _key_value;
 * docs/reliability.md, "Fuzzing").
 *
 * Input: byte 0 picks the parser, the rest is the option's value (cut at the
 * first NUL, as argv would be, and copied into a buffer of exactly its size
 * so that AddressSanitizer sees any read past the end). Each parser's
 * promises are checked on success: numbers finite, sizes positive, integers
 * written in decimal digits alone, u64 below 2^53, LO < HI, 1..3 shape
 * extents in 1 .. 2^32 - 1, a non-empty list of finite numbers, a non-empty
 * key shorter than its buffer. The usage messages of rejected values go to
 * /dev/null (the target's stderr stream only; the sanitizers and libFuzzer
 * write to file descriptor 2 themselves). */
#include "fuzz_util.h"

#include "cli.h"

#include <math.h>

enum { P_DOUBLE, P_SIZE, P_U64, P_RANGE, P_SHAPE, P_LIST, P_KEY_VALUE, P_COUNT };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    FILE *null = fopen("/dev/null", "w");
    if (null) stderr = null;
    return 0;
}

/* 1 if s is one or more decimal digits and nothing else: what an integer
 * option accepts (no blank, no sign, which strtoull would take). */
static int all_digits(const char *s) {
    if (!*s) return 0;
    for (; *s; ++s)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const uint8_t *nul = memchr(data + 1, '\0', size - 1);
    size_t len = nul ? (size_t)(nul - data - 1) : size - 1;
    char *s = malloc(len + 1);
    if (!s) abort();
    memcpy(s, data + 1, len);
    s[len] = '\0';
    const char *C = "fuzz";
    switch (data[0] % P_COUNT) {
    case P_DOUBLE: {
        double v;
        if (cli_parse_double(C, "x", s, &v) == 0 && !isfinite(v)) abort();
        break;
    }
    case P_SIZE: {
        size_t v;
        if (cli_parse_size(C, "n", s, &v) == 0 && (v == 0 || !all_digits(s))) abort();
        break;
    }
    case P_U64: {
        uint64_t v;
        if (cli_parse_u64(C, "seed", s, &v) == 0 && (v >= (1ULL << 53) || !all_digits(s))) abort();
        break;
    }
    case P_RANGE: {
        double lo, hi;
        if (cli_parse_range(C, "q-range", s, &lo, &hi) == 0 &&
            !(isfinite(lo) && isfinite(hi) && lo < hi))
            abort();
        break;
    }
    case P_SHAPE: {
        size_t shape[3];
        int count = 0;
        if (cli_parse_shape(C, "shape", s, shape, &count) == 0) {
            if (count < 1 || count > 3) abort();
            for (int i = 0; i < count; ++i)
                if (shape[i] < 1 || shape[i] > 0xffffffffULL) abort();
        }
        break;
    }
    case P_LIST: {
        double *v = NULL;
        size_t n = cli_parse_list(C, "x0", s, &v);
        for (size_t i = 0; i < n; ++i)
            if (!isfinite(v[i])) abort();
        free(v);
        break;
    }
    default: {
        char key[16];
        double v;
        if (cli_parse_key_value(C, "set", s, key, sizeof key, &v) == 0 &&
            (!key[0] || strlen(key) >= sizeof key || !isfinite(v) || !strchr(s, '=')))
            abort();
        break;
    }
    }
    free(s);
    return 0;
}
