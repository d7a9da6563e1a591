/* hamrf: the command-line tool, a thin layer over libhamrf (docs/cli.md). */
#include "cli.h"
#include "mpi.h"

#include "hamrf/blas.h"
#include "hamrf/version.h"
#include "core/sysinfo.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int openblas_get_num_threads(void);

static const char usage[] =
    "usage: hamrf <command> [options]\n"
    "\n"
    "commands:\n"
    "  systems    list the built-in Hamiltonian systems and their parameters\n"
    "  generate   sample a data set (states, time derivatives, energies) of a system\n"
    "  train      fit a sampled Hamiltonian neural network (one least-squares solve)\n"
    "  eval       errors of a model on a data set\n"
    "  rollout    integrate a model from initial states (trajectories, energy drift)\n"
    "  reproduce  run the papers' experiments and print our numbers beside theirs\n"
    "  import     a LAMMPS dump or extended XYZ file as a particle data set\n"
    "  export     a pair-mode graph network as a LAMMPS pair_style table\n"
    "  convert    particle data sets and rollouts as extended XYZ or LAMMPS dump text\n"
    "\n"
    "'hamrf <command> --help' shows the options of a command.\n"
    "Exit status: 0 success, 2 usage error, 1 any other failure.\n";

int main(int argc, char **argv) {
    /* Give OpenBLAS the kernels this CPU supports when it did not recognise
     * the model (see hamrf/blas.h); HAMRF_NO_REEXEC=1 disables this. */
    const char *core = hrf_blas_suggest_coretype();
    if (core && !getenv("HAMRF_NO_REEXEC")) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        execv("/proc/self/exe", argv);
        /* exec failed: go on with the kernels we have. */
    }
    /* Under an address-space limit (ulimit -v) too tight for every OpenBLAS
     * thread's buffer, a worker thread would retry its allocation for ever
     * and the tool would hang at exit: start again with one BLAS thread. */
    if (hrf_blas_threads_within_limits() < openblas_get_num_threads() &&
        openblas_get_num_threads() > 1 && !getenv("HAMRF_NO_REEXEC")) {
        fprintf(stderr, "hamrf: note: the memory limit (ulimit -v) leaves room for fewer "
                        "OpenBLAS buffers than threads; using one BLAS thread\n");
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv("/proc/self/exe", argv);
    }
    /* A write beyond `ulimit -f` then fails with EFBIG, which the writer
     * reports naming the file (and the old file stays), instead of the
     * default action of SIGXFSZ, which kills the tool without a word. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("hamrf %s\nopenblas kernels: %s\nmpi: %s\n", hrf_version(), hrf_blas_corename(),
               cli_mpi_built() ? "yes (mpirun -np P hamrf ...)" : "no");
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"systems", cmd_systems}, {"generate", cmd_generate}, {"train", cmd_train},
                {"eval", cmd_eval},       {"rollout", cmd_rollout},   {"reproduce", cmd_reproduce},
                {"import", cmd_import},   {"export", cmd_export},     {"convert", cmd_convert}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name)) {
            /* Under mpirun every rank runs the command (docs/mpi.md). */
            cli_mpi_init(&argc, &argv);
            int rc = cli_mpi_same_args(cmd, argc, argv);
            if (rc == CLI_OK) rc = cmds[i].fn(argc - 1, argv + 1);
            return cli_mpi_finish(rc);
        }
    fprintf(stderr, "hamrf: unknown command '%s'\n\n%s", cmd, usage);
    return CLI_USAGE;
}
