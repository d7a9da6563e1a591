/* Private: text files written atomically, like every hamrf writer: the text
 * goes to a temporary file "<path>.tmp.<suffix>" in the same folder, which is
 * flushed to disk and renamed to `path` only when everything was written; on
 * any failure the temporary file is removed and `path` is left untouched. */
#ifndef HAMRF_SRC_TEXTFILE_H
#define HAMRF_SRC_TEXTFILE_H

#include <stdio.h>

typedef struct hrf_textfile {
    FILE *f;    /* write the text here (fprintf, fputs) */
    char *tmp;  /* the temporary file's name (malloc'd) */
    char *path; /* the final name (malloc'd) */
} hrf_textfile;

/* Creates the temporary file (mode 0666 less the umask). HRF_EIO naming the
 * folder when it cannot. */
int hrf_textfile_open(hrf_textfile *t, const char *path);
/* Checks every write, flushes, renames to the final name; HRF_EIO naming
 * the file otherwise (then the temporary file is removed). Frees t's names. */
int hrf_textfile_commit(hrf_textfile *t);
/* Removes the temporary file and frees t's names (NULL-safe on an unopened t
 * that was zero-initialised). */
void hrf_textfile_abort(hrf_textfile *t);

#endif
