/* Atomic text files (core/textfile.h): temporary file, fsync, rename. */
#include "core/textfile.h"

#include "hamrf/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void textfile_release(hrf_textfile *t) {
    free(t->tmp), free(t->path);
    t->tmp = t->path = NULL, t->f = NULL;
}

int hrf_textfile_open(hrf_textfile *t, const char *path) {
    memset(t, 0, sizeof *t);
    if (!path || !path[0]) return hrf_error(HRF_EINVAL, "an output file needs a non-empty path");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return hrf_error(HRF_EIO, "%s: is a folder, cannot write a file there", path);
    size_t len = strlen(path);
    t->path = malloc(len + 1), t->tmp = malloc(len + 32);
    if (!t->path || !t->tmp) {
        textfile_release(t);
        return hrf_error(HRF_ENOMEM, "%s: out of memory", path);
    }
    memcpy(t->path, path, len + 1);
    static _Thread_local uint64_t counter;
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x =
            (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ (++counter * 0x9E3779B97F4A7C15ull);
        x ^= x >> 31;
        snprintf(t->tmp, len + 32, "%s.tmp.%06llx", path, (unsigned long long)(x & 0xffffffu));
        fd = open(t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0 || !(t->f = fdopen(fd, "w"))) {
        int rc =
            hrf_error(HRF_EIO, "%s: cannot create a file beside it (%s)", path, strerror(errno));
        if (fd >= 0) close(fd), unlink(t->tmp);
        textfile_release(t);
        return rc;
    }
    return HRF_OK;
}

int hrf_textfile_commit(hrf_textfile *t) {
    int rc = HRF_OK;
    int bad = ferror(t->f) || fflush(t->f) != 0 || fsync(fileno(t->f)) != 0;
    int saved = errno;
    if (fclose(t->f) != 0 && !bad) bad = 1, saved = errno;
    t->f = NULL;
    if (bad)
        rc = hrf_error(HRF_EIO, "%s: cannot write temporary file '%s' (%s)", t->path, t->tmp,
                       strerror(saved));
    else if (rename(t->tmp, t->path) != 0)
        rc = hrf_error(HRF_EIO, "%s: cannot rename temporary file '%s' to it (%s)", t->path, t->tmp,
                       strerror(errno));
    if (rc) unlink(t->tmp);
    textfile_release(t);
    return rc;
}

void hrf_textfile_abort(hrf_textfile *t) {
    if (t->f) fclose(t->f);
    if (t->tmp) unlink(t->tmp);
    textfile_release(t);
}
