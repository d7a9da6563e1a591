/* Private: text files written atomically through the one writer of every
 * hamrf output (core/atomic_file.h): the text goes to a file that gets the
 * final name only once everything was written and flushed; on any failure
 * `path` is left untouched and nothing stays behind. */
#ifndef HAMRF_SRC_TEXTFILE_H
#define HAMRF_SRC_TEXTFILE_H

#include <stdio.h>

#include "core/atomic_file.h"

typedef struct hrf_textfile {
    FILE *f;             /* write the text here (fprintf, fputs) */
    hrf_atomic_file *af; /* the file being written (core/atomic_file.h) */
} hrf_textfile;

/* Starts the new file (mode 0666 less the umask). HRF_EIO naming the path
 * and the folder when it cannot. */
int hrf_textfile_open(hrf_textfile *t, const char *path);
/* Checks every write, flushes, puts the file in place; HRF_EIO naming the
 * file otherwise (then nothing is left behind). Releases t. */
int hrf_textfile_commit(hrf_textfile *t);
/* Discards the new file and releases t (NULL-safe on an unopened t that was
 * zero-initialised). */
void hrf_textfile_abort(hrf_textfile *t);

#endif
