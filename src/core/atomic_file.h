/* Atomic replacement of a file (private to libhamrf, its tool and tests):
 * every file hamrf writes (the .npz writer, `hamrf reproduce`'s CSV and JSON)
 * goes through it. The contract (docs/reliability.md, "Atomic writes and
 * faults"): until hrf_atomic_commit returns HRF_OK, PATH is the old file (or
 * absent); afterwards it is the complete new file, flushed to disk together
 * with the folder entry. A process killed at any moment leaves either the old
 * or the new file under PATH, and at most one temporary file
 * "PATH.tmp.<pid>.<6 letters>" that the next successful write of PATH
 * removes.
 *
 * Where the file system supports it, the data go to an unnamed O_TMPFILE file
 * in PATH's folder (nothing to leave behind); otherwise to the named
 * temporary above (and everywhere when the environment variable
 * HAMRF_NO_TMPFILE is set). Either is flock()ed while it is written, which is how a
 * later write proves that a temporary is stale (docs/reliability.md).
 *
 * The library does not change signal dispositions: a program that wants a
 * write beyond `ulimit -f` to fail with EFBIG instead of dying of SIGXFSZ
 * ignores that signal (the hamrf tool does; Python does by default). */
#ifndef HAMRF_SRC_CORE_ATOMIC_FILE_H
#define HAMRF_SRC_CORE_ATOMIC_FILE_H

#include <stddef.h>

typedef struct hrf_atomic_file hrf_atomic_file;

/* Starts a new file that will replace `path`. Errors (HRF_EIO, the message
 * names the path and the system's reason): `path` is a folder; its folder is
 * missing, not a folder or not writable. */
int hrf_atomic_open(const char *path, hrf_atomic_file **out);

/* The descriptor to write to (read-write, positioned at 0). */
int hrf_atomic_fd(const hrf_atomic_file *f);
/* The destination path, for messages. */
const char *hrf_atomic_path(const hrf_atomic_file *f);

/* Writes n bytes at the current position (retrying short writes and EINTR).
 * HRF_EIO naming the path and the reason (e.g. "File too large"). */
int hrf_atomic_write(hrf_atomic_file *f, const void *bytes, size_t n);

/* fsync, put the file under its path (replacing an older one), fsync the
 * folder, then remove stale temporaries of the same path. Releases f
 * whatever the outcome; on failure the old file is untouched. */
int hrf_atomic_commit(hrf_atomic_file *f);

/* Discards the new file (removes a named temporary) and releases f.
 * NULL-safe; the old file is untouched. */
void hrf_atomic_abort(hrf_atomic_file *f);

/* open + write + commit of one buffer. */
int hrf_atomic_write_file(const char *path, const void *bytes, size_t n);

#endif
