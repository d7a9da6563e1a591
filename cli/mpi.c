/* The tool's processes under mpirun (cli/mpi.h, docs/mpi.md). */
#include "mpi.h"

#include "cli.h"
#include "hamrf/status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAMRF_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1, g_agreed = 0;
static double g_comm_seconds = 0.0, g_comm_words = 0.0, g_comm_calls = 0.0;
static hrf_comm g_comm;

void cli_mpi_stats(double *seconds, double *words, double *calls) {
    *seconds = g_comm_seconds, *words = g_comm_words, *calls = g_comm_calls;
}

int cli_mpi_rank(void) {
    return g_rank;
}
int cli_mpi_size(void) {
    return g_size;
}
const hrf_comm *cli_mpi_comm(void) {
    return g_size > 1 ? &g_comm : NULL;
}
int cli_mpi_built(void) {
#ifdef HAMRF_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

void cli_mpi_share(size_t total, size_t *first, size_t *count) {
    size_t P = (size_t)g_size, r = (size_t)g_rank, q = total / P, e = total % P;
    *first = r * q + (r < e ? r : e);
    *count = q + (r < e);
}

#ifdef HAMRF_HAVE_MPI
static int g_mpi = 0;
static char *g_errbuf = NULL; /* ranks > 0: what the tool printed to stderr */
static size_t g_errlen = 0;
static FILE *g_errmem = NULL, *g_stderr = NULL;

/* libhamrf's hook: MPI_Allreduce in place, in chunks below 2^31 entries. */
static int mpi_allreduce(void *ctx, hrf_comm_op op, void *buf, size_t n) {
    MPI_Comm comm = *(MPI_Comm *)ctx;
    MPI_Datatype t = op == HRF_COMM_BOR ? MPI_UINT64_T : MPI_DOUBLE;
    MPI_Op o = op == HRF_COMM_SUM ? MPI_SUM : op == HRF_COMM_MAX ? MPI_MAX : MPI_BOR;
    const size_t chunk = (size_t)1 << 30;
    double t0 = cli_now();
    g_comm_words += (double)n, g_comm_calls += 1.0;
    for (size_t i = 0; i < n; i += chunk) {
        int c = (int)(n - i < chunk ? n - i : chunk);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + 8 * i, c, t, o, comm);
        if (rc != MPI_SUCCESS) return hrf_error(HRF_EIO, "MPI_Allreduce failed (code %d)", rc);
    }
    g_comm_seconds += cli_now() - t0;
    return HRF_OK;
}
static MPI_Comm g_world;
#endif

void cli_mpi_init(int *argc, char ***argv) {
#ifdef HAMRF_HAVE_MPI
    /* Only under a launcher: a plain `hamrf ...` stays one MPI-free process. */
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_SIZE")) return;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
    g_mpi = 1;
    g_world = MPI_COMM_WORLD;
    MPI_Comm_rank(g_world, &g_rank);
    MPI_Comm_size(g_world, &g_size);
    g_comm.rank = g_rank, g_comm.size = g_size, g_comm.ctx = &g_world;
    g_comm.allreduce = mpi_allreduce;
    if (g_rank > 0 && (g_errmem = open_memstream(&g_errbuf, &g_errlen))) {
        g_stderr = stderr;
        stderr = g_errmem;
    }
#else
    (void)argc, (void)argv;
#endif
}

int cli_mpi_finish(int rc) {
#ifdef HAMRF_HAVE_MPI
    if (!g_mpi) return rc;
    if (g_errmem) {
        fflush(g_errmem);
        stderr = g_stderr;
    }
    if (rc != 0 && !g_agreed && g_size > 1) {
        /* This rank failed alone (the others may wait in a collective):
         * show its message and end the job. */
        if (g_errbuf && g_errlen) fprintf(stderr, "hamrf (rank %d): %s", g_rank, g_errbuf);
        fflush(stderr);
        MPI_Abort(g_world, rc);
    }
    if (g_errmem) fclose(g_errmem);
    free(g_errbuf);
    MPI_Finalize();
#endif
    return rc;
}

#define MSG_BYTES 1024

int cli_mpi_agree(const char *cmd, int rc, const char *msg) {
    if (g_size == 1) return rc;
    /* the lowest failing rank and its code */
    double v[2] = {rc ? -(double)g_rank : -(double)g_size, 0.0};
    if (g_comm.allreduce(g_comm.ctx, HRF_COMM_MAX, v, 1)) return cli_mpi_finish(CLI_FAIL);
    int bad = (int)-v[0];
    if (bad >= g_size) return CLI_OK;
    uint64_t buf[MSG_BYTES / 8 + 1];
    memset(buf, 0, sizeof buf);
    if (g_rank == bad) {
        snprintf((char *)buf, MSG_BYTES, "%s", msg ? msg : "");
        buf[MSG_BYTES / 8] = (uint64_t)rc;
    }
    if (g_comm.allreduce(g_comm.ctx, HRF_COMM_BOR, buf, MSG_BYTES / 8 + 1))
        return cli_mpi_finish(CLI_FAIL);
    ((char *)buf)[MSG_BYTES - 1] = '\0';
    if (g_rank == 0 && ((char *)buf)[0])
        fprintf(stderr, "hamrf %s: error (rank %d): %s\n", cmd, bad, (char *)buf);
    g_agreed = 1;
    return (int)buf[MSG_BYTES / 8];
}

int cli_mpi_same_args(const char *cmd, int argc, char **argv) {
    if (g_size == 1) return CLI_OK;
    /* FNV-1a of the command line; the largest and the smallest must agree. */
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < argc; i++) {
        for (const char *c = argv[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
        h = (h ^ 0xffu) * 1099511628211ULL;
    }
    double v[2] = {(double)(h >> 12), -(double)(h >> 12)};
    if (g_comm.allreduce(g_comm.ctx, HRF_COMM_MAX, v, 2)) return cli_mpi_finish(CLI_FAIL);
    if (v[0] == -v[1]) return CLI_OK;
    g_agreed = 1;
    if (g_rank == 0)
        fprintf(stderr,
                "hamrf %s: error: the %d ranks were started with different options; every rank "
                "must run the same command line (docs/mpi.md)\n",
                cmd, g_size);
    return CLI_USAGE;
}
