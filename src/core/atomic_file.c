/* Atomic replacement of a file (core/atomic_file.h; docs/reliability.md,
 * "Atomic writes and faults").
 *
 * The new file is written to an unnamed file created with O_TMPFILE in the
 * destination folder, flushed (fsync), and only then given a name, following
 * open(2), "O_TMPFILE":
 *
 *     fd = open("/path/to/dir", O_TMPFILE | O_RDWR, mode);
 *     ... write, fsync ...
 *     linkat(fd, "", AT_FDCWD, "/path/for/file", AT_EMPTY_PATH);
 *
 * and, when the caller lacks CAP_DAC_READ_SEARCH (needed for AT_EMPTY_PATH),
 * the same page's alternative through proc(5):
 *
 *     snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
 *     linkat(AT_FDCWD, p, AT_FDCWD, "/path/for/file", AT_SYMLINK_FOLLOW);
 *
 * linkat(2) never replaces an existing name (EEXIST), so a new PATH is linked
 * directly, and an existing one is replaced in two atomic steps: link to a
 * unique temporary name in the same folder, then rename(2) it over PATH
 * (rename(2): "If newpath already exists, it will be atomically replaced, so
 * that there is no point at which another process attempting to access
 * newpath will find it missing"). A kill between the two leaves that
 * temporary; so does a kill on the fallback path, used where the file system
 * refuses O_TMPFILE (EOPNOTSUPP; EISDIR or EINVAL on kernels without it),
 * which writes a named temporary from the start.
 *
 * Every temporary is named "PATH.tmp.<pid>.<6 letters>" and flock(2)ed
 * (LOCK_EX) by its writer from before it has a name (unnamed route) or right
 * after creation (fallback) until it is renamed. After each successful write
 * of PATH, temporaries of PATH whose pid no longer runs (kill(pid, 0) gives
 * ESRCH) and whose lock can be taken (flock LOCK_NB) are removed: both prove
 * the writer is gone (the lock alone would do, were it not for the instant
 * between creating a named temporary and locking it; the pid alone would do
 * but for pids of another pid namespace sharing the folder).
 *
 * The file gets mode 0666 reduced by the umask, as any new file (open(2)
 * applies the umask to O_TMPFILE files too). The folder is flushed after the
 * rename so that a completed write survives a crash. */
#define _GNU_SOURCE

#include "core/atomic_file.h"
#include "hamrf/status.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Attempts at a free temporary name before giving up (each has 36^6 choices). */
#define HRF_TEMP_ATTEMPTS 100
/* Bytes copied per call on the rare route that copies an unnamed file. */
#define HRF_COPY_CHUNK ((size_t)1 << 20)

struct hrf_atomic_file {
    char *path; /* the destination */
    char *dir;  /* its folder ("." when the path has no slash) */
    char *tmp;  /* the named temporary, or NULL while the file has no name */
    int fd;     /* read-write, flock()ed */
};

static char *dup_str(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* The folder part of `path` ("." when there is none), malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return dup_str(".", 1);
    if (slash == path) return dup_str("/", 1);
    return dup_str(path, (size_t)(slash - path));
}

/* A fresh temporary name "PATH.tmp.<pid>.<6 letters>" (malloc'd) or NULL. */
static char *temp_name(const char *path) {
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static _Thread_local uint64_t counter;
    size_t len = strlen(path);
    char *tmp = malloc(len + 48);
    if (!tmp) return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                 (++counter * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(uintptr_t)&counter;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    char r[7];
    for (int k = 0; k < 6; ++k, x /= 36)
        r[k] = digits[x % 36];
    r[6] = '\0';
    snprintf(tmp, len + 48, "%s.tmp.%ld.%s", path, (long)getpid(), r);
    return tmp;
}

/* Creates and locks a named temporary for f->path; sets f->tmp, returns the
 * descriptor or -1 with errno set. */
static int create_named(hrf_atomic_file *f) {
    for (int attempt = 0; attempt < HRF_TEMP_ATTEMPTS; ++attempt) {
        char *tmp = temp_name(f->path);
        if (!tmp) {
            errno = ENOMEM;
            return -1;
        }
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            (void)flock(fd, LOCK_EX | LOCK_NB); /* best effort: see the opening comment */
            f->tmp = tmp;
            return fd;
        }
        int saved = errno;
        free(tmp);
        errno = saved;
        if (saved != EEXIST) return -1;
    }
    return -1;
}

int hrf_atomic_open(const char *path, hrf_atomic_file **out) {
    if (!out) return hrf_error(HRF_EINVAL, "atomic write: out is NULL");
    *out = NULL;
    if (!path || !path[0]) return hrf_error(HRF_EINVAL, "atomic write: the path is empty");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return hrf_error(HRF_EIO, "%s: is a folder, cannot write a file there", path);
    hrf_atomic_file *f = calloc(1, sizeof *f);
    if (f) f->path = dup_str(path, strlen(path));
    if (f && f->path) f->dir = dir_of(path);
    if (!f || !f->path || !f->dir) {
        if (f) free(f->path);
        free(f);
        return hrf_error(HRF_ENOMEM, "%s: out of memory", path);
    }
    f->fd = -1;
#ifdef O_TMPFILE
    /* HAMRF_NO_TMPFILE (any value) takes the named route everywhere: for file
     * systems whose O_TMPFILE misbehaves, and for the fault tests. */
    if (!getenv("HAMRF_NO_TMPFILE")) f->fd = open(f->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
    if (f->fd >= 0)
        (void)flock(f->fd, LOCK_EX | LOCK_NB); /* unnamed: nobody else can hold it */
    else if (!getenv("HAMRF_NO_TMPFILE") && errno != EOPNOTSUPP && errno != EISDIR &&
             errno != EINVAL)
        goto fail;
#endif
    if (f->fd < 0 && (f->fd = create_named(f)) < 0) goto fail;
    *out = f;
    return HRF_OK;
fail:;
    int saved = errno;
    int rc = hrf_error(HRF_EIO, "%s: cannot create file in folder '%s' (%s)", path, f->dir,
                       strerror(saved));
    free(f->dir);
    free(f->path);
    free(f);
    return rc;
}

int hrf_atomic_fd(const hrf_atomic_file *f) {
    return f ? f->fd : -1;
}

const char *hrf_atomic_path(const hrf_atomic_file *f) {
    return f ? f->path : "";
}

/* Writes all n bytes to fd; 0, or -1 with errno set. */
static int write_all(int fd, const void *bytes, size_t n) {
    const unsigned char *p = bytes;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int hrf_atomic_write(hrf_atomic_file *f, const void *bytes, size_t n) {
    if (!f) return hrf_error(HRF_EINVAL, "atomic write: no file");
    if (write_all(f->fd, bytes, n) != 0)
        return hrf_error(HRF_EIO, "%s: cannot write (%s)", f->path, strerror(errno));
    return HRF_OK;
}

void hrf_atomic_abort(hrf_atomic_file *f) {
    if (!f) return;
    if (f->tmp) unlink(f->tmp);
    if (f->fd >= 0) close(f->fd);
    free(f->tmp);
    free(f->dir);
    free(f->path);
    free(f);
}

/* Gives the unnamed file `fd` the name `name` (open(2), O_TMPFILE; see the
 * opening comment); 0, or -1 with errno set. */
static int link_unnamed(int fd, const char *name) {
    if (linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0) return 0;
    if (errno != ENOENT && errno != EPERM && errno != EINVAL) return -1;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

/* Copies the unnamed file into a new named temporary (the route for a
 * process that can neither use AT_EMPTY_PATH nor /proc); 0 or -1, errno. */
static int copy_to_named(hrf_atomic_file *f) {
    int old = f->fd;
    int fd = create_named(f);
    if (fd < 0) return -1;
    unsigned char *buf = malloc(HRF_COPY_CHUNK);
    int rc = buf ? 0 : -1;
    if (!buf) errno = ENOMEM;
    for (off_t at = 0; rc == 0;) {
        ssize_t r = pread(old, buf, HRF_COPY_CHUNK, at);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) rc = -1;
        if (r <= 0) break;
        rc = write_all(fd, buf, (size_t)r);
        at += r;
    }
    free(buf);
    if (rc == 0) rc = fsync(fd);
    f->fd = fd;
    close(old);
    return rc;
}

/* Places the unnamed file: linked directly when PATH does not exist, else
 * linked to a temporary name (f->tmp) that the caller renames over PATH. */
static int place_unnamed(hrf_atomic_file *f, int *placed) {
    *placed = 0;
    if (link_unnamed(f->fd, f->path) == 0) {
        *placed = 1;
        return 0;
    }
    if (errno != EEXIST) return errno == ENOENT || errno == EPERM ? copy_to_named(f) : -1;
    for (int attempt = 0; attempt < HRF_TEMP_ATTEMPTS; ++attempt) {
        char *tmp = temp_name(f->path);
        if (!tmp) {
            errno = ENOMEM;
            return -1;
        }
        if (link_unnamed(f->fd, tmp) == 0) {
            f->tmp = tmp;
            return 0;
        }
        int saved = errno;
        free(tmp);
        errno = saved;
        if (saved != EEXIST) return -1;
    }
    return -1;
}

/* 1 if `rest` (what follows "BASE.tmp.") is "<pid>.<6 letters>"; the pid in *pid. */
static int parse_temp_suffix(const char *rest, long *pid) {
    char *end;
    errno = 0;
    long v = strtol(rest, &end, 10);
    if (end == rest || *rest < '0' || *rest > '9' || errno || v <= 0 || *end != '.') return 0;
    size_t n = 0;
    for (const char *p = end + 1; *p; ++p, ++n)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) return 0;
    *pid = v;
    return n == 6;
}

/* Removes the temporaries of f->path that provably belong to no running
 * writer (see the opening comment). Best effort: failures are ignored. */
static void remove_stale(const hrf_atomic_file *f) {
    const char *base = strrchr(f->path, '/');
    base = base ? base + 1 : f->path;
    size_t blen = strlen(base);
    DIR *d = opendir(f->dir);
    if (!d) return;
    int dfd = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid;
        if (strncmp(e->d_name, base, blen) != 0 || strncmp(e->d_name + blen, ".tmp.", 5) != 0 ||
            !parse_temp_suffix(e->d_name + blen + 5, &pid))
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) continue;
        struct stat a, b;
        if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstatat(dfd, e->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            (void)unlinkat(dfd, e->d_name, 0);
        close(fd);
    }
    closedir(d);
}

int hrf_atomic_commit(hrf_atomic_file *f) {
    if (!f) return hrf_error(HRF_EINVAL, "atomic write: no file");
    int rc = HRF_OK, placed = 0;
    if (fsync(f->fd) != 0)
        rc = hrf_error(HRF_EIO, "%s: cannot flush the new file to disk (%s)", f->path,
                       strerror(errno));
    if (rc == HRF_OK && !f->tmp && place_unnamed(f, &placed) != 0)
        rc = hrf_error(HRF_EIO, "%s: cannot put the new file in place (%s)", f->path,
                       strerror(errno));
    if (rc == HRF_OK && !placed && rename(f->tmp, f->path) != 0)
        rc = hrf_error(HRF_EIO, "%s: cannot rename temporary file '%s' to it (%s)", f->path, f->tmp,
                       strerror(errno));
    if (rc == HRF_OK) {
        free(f->tmp); /* renamed: nothing left to remove */
        f->tmp = NULL;
        /* Makes the new name durable; a failure here loses nothing. */
        int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        remove_stale(f);
    }
    hrf_atomic_abort(f);
    return rc;
}

int hrf_atomic_write_file(const char *path, const void *bytes, size_t n) {
    hrf_atomic_file *f;
    int rc = hrf_atomic_open(path, &f);
    if (rc) return rc;
    if ((rc = hrf_atomic_write(f, bytes, n)) != HRF_OK) {
        hrf_atomic_abort(f);
        return rc;
    }
    return hrf_atomic_commit(f);
}
