/* The tool's processes under mpirun (docs/mpi.md). Built with MPI
 * (HAMRF_HAVE_MPI) and started by a launcher, the tool joins MPI_COMM_WORLD
 * and fills libhamrf's hrf_comm hook with MPI_Allreduce; otherwise it is one
 * process and every function here is trivial. libhamrf itself never links
 * MPI. */
#ifndef HAMRF_CLI_MPI_H
#define HAMRF_CLI_MPI_H

#include "hamrf/comm.h"

#include <stddef.h>

/* MPI_Init when a launcher started us (and the build has MPI); on ranks > 0
 * the tool's messages go to a buffer, shown only when that rank fails
 * alone, so that an error every rank meets is printed once, by rank 0. */
void cli_mpi_init(int *argc, char ***argv);
/* The end of the program: MPI_Finalize after success or an error every rank
 * agreed on (cli_mpi_agree); MPI_Abort, after this rank's message, when
 * this rank failed alone. Returns the exit status. */
int cli_mpi_finish(int rc);
int cli_mpi_rank(void);
/* This rank's time in MPI_Allreduce so far (waiting for slower ranks
 * included), the doubles it reduced and the number of calls. */
void cli_mpi_stats(double *seconds, double *words, double *calls);
int cli_mpi_size(void);
/* The hook for the library: NULL for one process. */
const hrf_comm *cli_mpi_comm(void);
/* 1 when this build can run under mpirun. */
int cli_mpi_built(void);
/* Collective: every rank passes its status (0 or a CLI exit code); if any
 * failed, rank 0 prints the message of the lowest failing rank (msg, this
 * rank's, may be NULL for "see that rank's output") and every rank returns
 * that rank's code. Marks the failure as agreed (cli_mpi_finish exits
 * cleanly). */
int cli_mpi_agree(const char *cmd, int rc, const char *msg);
/* Collective: CLI_USAGE with a message from rank 0 when the ranks were
 * started with different command lines. */
int cli_mpi_same_args(const char *cmd, int argc, char **argv);
/* Rows [*first, *first + *count) of `total` for this rank: contiguous,
 * sizes differing by at most one, rank order. */
void cli_mpi_share(size_t total, size_t *first, size_t *count);

#endif
