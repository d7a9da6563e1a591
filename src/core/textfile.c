/* Atomic text files (core/textfile.h): a stdio stream over the atomic
 * writer's descriptor (core/atomic_file.h). */
#define _POSIX_C_SOURCE 200809L

#include "core/textfile.h"

#include "hamrf/status.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int hrf_textfile_open(hrf_textfile *t, const char *path) {
    memset(t, 0, sizeof *t);
    if (!path || !path[0]) return hrf_error(HRF_EINVAL, "an output file needs a non-empty path");
    int rc = hrf_atomic_open(path, &t->af);
    if (rc) return rc;
    /* The stream has its own descriptor: fclose leaves the atomic file's. */
    int fd = dup(hrf_atomic_fd(t->af));
    if (fd < 0 || !(t->f = fdopen(fd, "w"))) {
        rc = hrf_error(HRF_EIO, "%s: cannot open a stream on the new file (%s)", path,
                       strerror(errno));
        if (fd >= 0) close(fd);
        hrf_atomic_abort(t->af);
        t->af = NULL;
        return rc;
    }
    return HRF_OK;
}

int hrf_textfile_commit(hrf_textfile *t) {
    int bad = ferror(t->f) || fflush(t->f) != 0;
    int saved = errno;
    if (fclose(t->f) != 0 && !bad) bad = 1, saved = errno;
    t->f = NULL;
    hrf_atomic_file *af = t->af;
    t->af = NULL;
    if (bad) {
        int rc = hrf_error(HRF_EIO, "%s: cannot write (%s)", hrf_atomic_path(af),
                           strerror(saved ? saved : EIO));
        hrf_atomic_abort(af);
        return rc;
    }
    return hrf_atomic_commit(af);
}

void hrf_textfile_abort(hrf_textfile *t) {
    if (t->f) fclose(t->f);
    hrf_atomic_abort(t->af);
    t->f = NULL, t->af = NULL;
}
