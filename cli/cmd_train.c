/* hamrf train: option parsing; the work is in train_run.c (cli/train.h).
 * Samples the hidden layer and solves the outer layer of an HNN (or with
 * --model odenet the ODE-net baseline); with --optimizer trains every
 * parameter of the same network by gradient descent instead (hamrf/baseline.h,
 * docs/math.md §9). On a particle data set (kind "particles") it fits the
 * sampled Hamiltonian graph network (--model hgn, hamrf/hgn.h, docs/math.md
 * §10), or with --optimizer trains the same graph network by gradient
 * descent (docs/math.md §10.1). */
#include "cli.h"
#include "mpi.h"
#include "train.h"

#include "hamrf/status.h"

#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hamrf train --data FILE.npz [--model hnn|odenet] [--width M]\n"
    "                   [--sampler elm|uswim|swim|aswim] [--solver auto|svd|qr|normal]\n"
    "                   [--rcond R] [--ridge L] [--seed S] -o MODEL.npz [--json]\n"
    "       hamrf train --data FILE.npz --optimizer NAME [--lr LR] [--batch B] [--steps N]\n"
    "                   [--weight-decay W] [--shuffle] [--time-limit S] [--model hnn|odenet]\n"
    "                   [--width M] [--seed S] -o MODEL.npz [--json]\n"
    "       hamrf train --data PARTICLES.npz [--model hgn] [--mode pair|mp] [--edge-width M]\n"
    "                   [--node-width M] [--kinetic-width M] [--no-kinetic-linear]\n"
    "                   [--sampler NAME] [--solver NAME] [--seed S] -o MODEL.npz [--json]\n"
    "       hamrf train --data PARTICLES.npz --optimizer NAME [--lr LR] [--batch B] [--steps N]\n"
    "                   [--weight-decay W] [--shuffle] [--time-limit S] [--mode pair|mp]\n"
    "                   [--edge-width M] [--node-width M] [--kinetic-width M] [--seed S]\n"
    "                   -o MODEL.npz [--json]\n"
    "Fits a shallow network: sampled hidden layer, least-squares outer layer; with\n"
    "--optimizer, every parameter of the same network trained by gradient descent\n"
    "on the mean squared error of grad H (odenet: of dx/dt), the papers' baseline.\n"
    "On trajectory pairs (hamrf generate --pairs) the HNN is fitted so that one\n"
    "symplectic Euler step of size h maps each x to its x1.\n"
    "On a particle data set (hamrf generate --system springs|benchmark_ring|lj) it fits\n"
    "the sampled Hamiltonian graph network (hgn): shared edge and kinetic encoders,\n"
    "sampled, and two least-squares solves (potential and kinetic part).\n"
    "  --data FILE        training data set (from 'hamrf generate'); repeatable, or a\n"
    "                     quoted glob ('shard-*.npz'): the files' rows in order form one\n"
    "                     data set (hnn: sampled fits; hgn: snapshots). Under\n"
    "                     'mpirun -np P hamrf train' each rank reads only its share of\n"
    "                     the rows and one fit runs across the ranks (docs/mpi.md)\n"
    "  --model NAME       hnn (default for box data sets): Hamiltonian network,\n"
    "                     dx/dt = J grad H_hat; odenet: regresses dx/dt directly (the\n"
    "                     S-MLP baseline); hgn (default for particle data sets): the\n"
    "                     graph network, for any number of particles\n"
    "  --width M          hidden neurons (default 1000; not hgn)\n"
    "  --sampler NAME     elm, uswim, swim (hnn: needs H in the data; odenet: weighs\n"
    "                     pairs by dx/dt), aswim (default)\n"
    "  --solver NAME      auto (default), svd, qr, normal\n"
    "  --rcond R          svd/qr singular-value cutoff (default 1e-13)\n"
    "  --ridge L          normal: ridge on the unit-diagonal Gram (default 1e-13)\n"
    "  --refine N         normal: max LSQR refinement iterations (default\n"
    "                     50, hnn auto 10; 0 when the features do not fit in memory)\n"
    "  --elm-range=LO,HI  ELM bias range (default: smallest, largest box bound)\n"
    "  --reduce           hnn svd/qr: solve the QR-reduced matrix (same solution, cheaper)\n"
    "  --equilibrate      svd/qr: unit column norms before the cutoff (auto does both)\n"
    "  --allow-duplicates do not resample duplicate SWIM pairs\n"
    "  --correct          trajectory pairs only: store the backward-error corrected\n"
    "                     H~ = H_hat + (h/2) grad_q H_hat . grad_p H_hat (O(h^2) instead of O(h))\n"
    "  --seed S           random seed (default 1; gradient training: initialisation\n"
    "                     and shuffling)\n"
    "Graph network (--model hgn, particle data sets only):\n"
    "  --mode NAME        pair (default): pairwise-additive potential; mp: message passing\n"
    "  --edge-width M     edge-encoder neurons (default 200)\n"
    "  --node-width M     node-update neurons (mode mp only)\n"
    "  --kinetic-width M  kinetic-encoder neurons (default 50)\n"
    "  --no-kinetic-linear  without the exact Newtonian feature sum |p|^2/(2m) in the\n"
    "                     kinetic part (the sampled encoder alone, as in RF-HGN)\n"
    "  (--sampler, --solver, --rcond, --ridge, --refine, --reduce, --equilibrate,\n"
    "   --allow-duplicates and --seed apply as above, to both solves; swim uses the\n"
    "   data set's true pair potential; with --optimizer every parameter of the same\n"
    "   network is trained by gradient descent instead, a batch being B snapshots)\n"
    "Gradient training (only with --optimizer; sampling options are then errors):\n"
    "  --optimizer NAME   sgd, momentum, nesterov, adagrad, adadelta, rmsprop, adam,\n"
    "                     adamw, adamax, nadam, radam, amsgrad, adafactor, rprop, lbfgs\n"
    "  --lr LR            learning rate (default: PyTorch's for the optimizer, adam 1e-3)\n"
    "  --weight-decay W   L2 penalty (default 0; RF-HNN used 1e-13 with adam)\n"
    "  --steps N          optimizer steps (default 1000)\n"
    "  --batch B          points per step (hgn: snapshots; default 2048, rprop/lbfgs 0);\n"
    "                     0 = all; B above the number of points means all\n"
    "  --shuffle          new random order every epoch (default: sequential batches)\n"
    "  --time-limit S     stop after the step that reaches S seconds (default 0 = none)\n"
    "  --threads N        threads for BLAS and OpenMP (default: all cores)\n"
    "  -o, --output FILE  model .npz (written atomically)\n"
    "  --json             one JSON object on stdout (fit_seconds, solver, width, ...)\n"
    "  --quiet            no progress line\n";

/* Options of sampled training (also the graph network's): 1 handled, 0 not
 * one of them, -1 usage error (printed). */
static int parse_sampling(train_opts *o, int c, const char *arg) {
    const char *C = "train";
    hrf_hnn_params *hp = &o->hp;
    hrf_hgn_params *gn = &o->gn;
    size_t sz;
    const char *name = NULL;
    switch (c) {
    case 'w':
        name = "--width";
        break;
    case 's':
        name = "--sampler";
        break;
    case 'v':
        name = "--solver";
        break;
    case 'r':
        name = "--rcond";
        break;
    case 'l':
        name = "--ridge";
        break;
    case 'f':
        name = "--refine";
        break;
    case 'E':
        name = "--elm-range";
        break;
    case 'A':
        name = "--allow-duplicates";
        break;
    case 'R':
        name = "--reduce";
        break;
    case 'e':
        name = "--equilibrate";
        break;
    case 'S':
        name = "--seed";
        break;
    default:
        return 0;
    }
    if (c != 'w' && c != 'S' && !o->sampling_opt) o->sampling_opt = name;
    if ((c == 'w' || c == 'E') && !o->width_opt) o->width_opt = name;
    switch (c) {
    case 'w':
        if (cli_parse_size(C, "width", arg, &hp->width)) return -1;
        break;
    case 's':
        if (hrf_sampler_find(arg, &hp->sampler)) return cli_option_error(C, "%s", hrf_last_error());
        gn->sampler = hp->sampler;
        break;
    case 'v':
        if (hrf_solver_find(arg, &hp->lstsq.solver))
            return cli_option_error(C, "%s", hrf_last_error());
        gn->lstsq.solver = hp->lstsq.solver;
        break;
    case 'r':
        if (cli_parse_double(C, "rcond", arg, &hp->lstsq.rcond)) return -1;
        gn->lstsq.rcond = hp->lstsq.rcond;
        break;
    case 'l':
        if (cli_parse_double(C, "ridge", arg, &hp->lstsq.ridge)) return -1;
        gn->lstsq.ridge = hp->lstsq.ridge;
        break;
    case 'f':
        if (!strcmp(arg, "0")) {
            hp->lstsq.refine_max = hp->lstsq.stream_refine_max = 0;
        } else {
            if (cli_parse_size(C, "refine", arg, &sz)) return -1;
            if (sz > 100000) return cli_option_error(C, "--refine must be at most 100000");
            hp->lstsq.refine_max = hp->lstsq.stream_refine_max = (int)sz;
        }
        gn->lstsq.refine_max = gn->lstsq.stream_refine_max = hp->lstsq.refine_max;
        break;
    case 'E':
        if (cli_parse_range(C, "elm-range", arg, &hp->elm_lo, &hp->elm_hi)) return -1;
        break;
    case 'A':
        hp->resample_duplicates = gn->resample_duplicates = 0;
        break;
    case 'R':
        hp->lstsq.use_reduce = gn->lstsq.use_reduce = 1;
        break;
    case 'e':
        hp->lstsq.equilibrate = gn->lstsq.equilibrate = 1;
        break;
    case 'S':
        if (cli_parse_u64(C, "seed", arg, &hp->seed)) return -1;
        gn->seed = hp->seed;
        break;
    }
    return 1;
}

/* Options of the graph network only. */
static int parse_hgn(train_opts *o, int c, const char *arg) {
    const char *C = "train";
    static const char *const names[] = {"--mode", "--edge-width", "--node-width", "--kinetic-width",
                                        "--no-kinetic-linear"};
    if (c < 1001 || c > 1005) return 0;
    if (!o->hgn_opt) o->hgn_opt = names[c - 1001];
    switch (c) {
    case 1001:
        if (hrf_hgn_mode_find(arg, &o->gn.mode))
            return cli_option_error(C, "--mode: %s", hrf_last_error());
        break;
    case 1002:
        if (cli_parse_size(C, "edge-width", arg, &o->gn.edge_width)) return -1;
        break;
    case 1003:
        if (cli_parse_size(C, "node-width", arg, &o->node_width)) return -1;
        break;
    case 1004:
        if (cli_parse_size(C, "kinetic-width", arg, &o->gn.kinetic_width)) return -1;
        break;
    case 1005:
        o->gn.kinetic_linear = 0;
        break;
    }
    return 1;
}

/* Options of gradient training (--optimizer and its settings). */
static int parse_gradient(train_opts *o, int c, const char *arg) {
    const char *C = "train";
    const char *name = NULL;
    switch (c) {
    case 'L':
        name = "--lr";
        break;
    case 'W':
        name = "--weight-decay";
        break;
    case 'N':
        name = "--steps";
        break;
    case 'B':
        name = "--batch";
        break;
    case 'F':
        name = "--shuffle";
        break;
    case 't':
        name = "--time-limit";
        break;
    case 'O':
        break;
    default:
        return 0;
    }
    if (name && !o->gradient_opt) o->gradient_opt = name;
    switch (c) {
    case 'O':
        if (hrf_optimizer_find(arg, &o->opt_type))
            return cli_option_error(C, "%s", hrf_last_error());
        break;
    case 'L':
        if (cli_parse_double(C, "lr", arg, &o->lr)) return -1;
        break;
    case 'W':
        if (cli_parse_double(C, "weight-decay", arg, &o->weight_decay)) return -1;
        break;
    case 'N':
        if (cli_parse_size(C, "steps", arg, &o->steps)) return -1;
        break;
    case 'B':
        if (!strcmp(arg, "0"))
            o->batch = 0;
        else if (cli_parse_size(C, "batch", arg, &o->batch))
            return -1;
        o->batch_set = 1;
        break;
    case 'F':
        o->shuffle = 1;
        break;
    case 't':
        if (cli_parse_double(C, "time-limit", arg, &o->time_limit)) return -1;
        break;
    }
    return 1;
}

/* The data set's kind picks the model family: particle data sets take the
 * graph network, box data sets the HNN or ODE-net. A file that cannot be
 * read here counts as a box data set (its loader says why). */
static int choose_model(train_opts *o) {
    const char *C = "train";
    const char *kind = cli_data_kind(o->data_path);
    int particles = kind && !strcmp(kind, "particles");
    if (!o->model_given) o->hgn = particles;
    if (o->hgn && !particles && kind)
        return cli_usage_error(C,
                               "--model hgn needs a particle data set (hamrf generate "
                               "--system springs|benchmark_ring|lj), but %s is of kind '%s'; "
                               "use --model hnn or odenet there",
                               o->data_path, kind);
    if (!o->hgn && particles)
        return cli_usage_error(C,
                               "%s is a particle data set; --model %s needs a box data set "
                               "(hamrf generate --system NAME --n N); train the graph "
                               "network with --model hgn",
                               o->data_path, o->odenet ? "odenet" : "hnn");
    return CLI_OK;
}

/* The gradient-training parameters from the options (after parsing: --lr
 * may come before --optimizer). */
static void gd_params_of(const train_opts *o, hrf_gd_params *gp) {
    hrf_gd_params_default(gp);
    gp->optimizer = o->opt_type;
    hrf_optim_params_default(o->opt_type, &gp->optim);
    if (!isnan(o->lr)) gp->optim.lr = o->lr;
    if (!isnan(o->weight_decay)) gp->optim.weight_decay = o->weight_decay;
    gp->steps = o->steps;
    gp->batch = o->batch_set ? o->batch : o->opt_type->full_batch ? 0 : o->batch;
    gp->shuffle = o->shuffle;
    gp->time_limit_seconds = o->time_limit;
    gp->seed = o->hp.seed;
    gp->width = o->hp.width;
    gp->act = o->hp.act;
}

/* Sampling options with --optimizer, gradient options without it: usage
 * errors. */
static int check_training_kind(const train_opts *o) {
    const char *C = "train";
    if (o->opt_type && o->sampling_opt)
        return cli_usage_error(C,
                               "%s applies to sampled training and conflicts with "
                               "--optimizer (gradient training)",
                               o->sampling_opt);
    if (!o->opt_type && o->gradient_opt)
        return cli_usage_error(C, "%s needs --optimizer NAME (gradient training)", o->gradient_opt);
    return CLI_OK;
}

/* --model hgn: options that do not apply, then the sampled fit or (with
 * --optimizer) gradient training. */
static int train_hgn(train_opts *o) {
    const char *C = "train";
    if (o->width_opt)
        return cli_usage_error(C,
                               "%s does not apply to --model hgn (its widths are "
                               "--edge-width, --kinetic-width, --node-width)",
                               o->width_opt);
    if (o->node_width && o->gn.mode != HRF_HGN_MP)
        return cli_usage_error(C, "--node-width only applies to --mode mp");
    if (o->node_width) o->gn.node_width = o->node_width;
    int rc = check_training_kind(o);
    if (rc) return rc;
    if (o->opt_type && (cli_mpi_size() > 1 || o->ndata > 1))
        return cli_usage_error(C, "gradient training of the graph network reads one --data file "
                                  "in one process; several files and mpirun are for its sampled "
                                  "fit (docs/mpi.md)");
    if (o->opt_type) {
        hrf_gd_params gp;
        gd_params_of(o, &gp);
        hrf_gd_hgn_arch a;
        hrf_gd_hgn_arch_default(&a);
        a.mode = o->gn.mode, a.edge_width = o->gn.edge_width;
        a.kinetic_width = o->gn.kinetic_width, a.node_width = o->gn.node_width;
        a.kinetic_linear = o->gn.kinetic_linear;
        const char *msg = hrf_gd_params_check(&gp);
        if (!msg) msg = hrf_gd_hgn_arch_check(&a);
        if (msg) return cli_usage_error(C, "%s", msg);
        return train_run_hgn_gradient(&gp, &a, o->data_path, o->out, o->json, o->quiet);
    }
    const char *gmsg = hrf_hgn_params_check(&o->gn);
    if (gmsg) return cli_usage_error(C, "%s", gmsg);
    return train_run_hgn(&o->gn, o);
}

/* An HNN or ODE-net on a box data set, sampled or (--optimizer) by gradient
 * descent. */
static int train_box(train_opts *o) {
    const char *C = "train";
    if (o->hgn_opt)
        return cli_usage_error(C, "%s only applies to --model hgn (particle data sets)",
                               o->hgn_opt);
    hrf_gd_params gp;
    const char *msg;
    int rc = check_training_kind(o);
    if (rc) return rc;
    if (o->opt_type) {
        gd_params_of(o, &gp);
        msg = hrf_gd_params_check(&gp);
    } else {
        msg = o->odenet ? hrf_odenet_params_check(&o->hp) : hrf_hnn_params_check(&o->hp);
    }
    if (msg) return cli_usage_error(C, "%s", msg);
    return train_run_box(o, o->opt_type ? &gp : NULL);
}

/* Every option of hamrf train but the shared ones (cli_parse_options). */
static int parse_option(void *opts, int c, const char *arg) {
    const char *C = "train";
    train_opts *o = opts;
    int r;
    if ((r = parse_sampling(o, c, arg)) || (r = parse_hgn(o, c, arg)) ||
        (r = parse_gradient(o, c, arg)))
        return r;
    switch (c) {
    case 'd': {
        /* A glob pattern expands to its matches in sorted order; a name
         * matching nothing is kept, so that its loader says why. */
        glob_t g;
        int gr = glob(arg, 0, NULL, &g);
        size_t nm = gr == 0 ? g.gl_pathc : 0;
        if (nm == 0) {
            if (o->ndata == TRAIN_MAX_FILES)
                return cli_option_error(C, "at most %d --data files", TRAIN_MAX_FILES);
            o->data_paths[o->ndata++] = arg;
        }
        for (size_t i = 0; i < nm; i++) {
            if (o->ndata == TRAIN_MAX_FILES) {
                globfree(&g);
                return cli_option_error(C, "at most %d --data files", TRAIN_MAX_FILES);
            }
            char *copy = strdup(g.gl_pathv[i]); /* freed by cmd_train */
            if (!copy) {
                globfree(&g);
                return cli_option_error(C, "out of memory");
            }
            o->data_owned[o->ndata] = 1;
            o->data_paths[o->ndata++] = copy;
        }
        if (gr == 0) globfree(&g);
        o->data_path = o->data_paths[0];
        return 1;
    }
    case 'M':
        if (!strcmp(arg, "hnn"))
            o->odenet = 0, o->hgn = 0;
        else if (!strcmp(arg, "odenet"))
            o->odenet = 1, o->hgn = 0;
        else if (!strcmp(arg, "hgn"))
            o->odenet = 0, o->hgn = 1;
        else
            return cli_option_error(C, "unknown model '%s' (known: hnn, odenet, hgn)", arg);
        o->model_given = 1;
        return 1;
    case 'C':
        if (!o->width_opt) o->width_opt = "--correct";
        o->correct = 1;
        return 1;
    }
    return 0;
}

/* What cmd_train does once every option is read: the exit status. */
static int train_parsed(train_opts *o, const cli_common *common, int argc, char **argv) {
    const char *C = "train";
    o->out = common->out, o->json = common->json, o->quiet = common->quiet;
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!o->data_path) return cli_usage_error(C, "--data FILE is required");
    if (!o->out) return cli_usage_error(C, "-o MODEL.npz is required");
    int rc = choose_model(o);
    if (rc) return rc;
    return o->hgn ? train_hgn(o) : train_box(o);
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"width", required_argument, 0, 'w'},
                                         {"sampler", required_argument, 0, 's'},
                                         {"solver", required_argument, 0, 'v'},
                                         {"rcond", required_argument, 0, 'r'},
                                         {"ridge", required_argument, 0, 'l'},
                                         {"refine", required_argument, 0, 'f'},
                                         {"elm-range", required_argument, 0, 'E'},
                                         {"allow-duplicates", no_argument, 0, 'A'},
                                         {"seed", required_argument, 0, 'S'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"reduce", no_argument, 0, 'R'},
                                         {"equilibrate", no_argument, 0, 'e'},
                                         {"model", required_argument, 0, 'M'},
                                         {"help", no_argument, 0, 'h'},
                                         {"correct", no_argument, 0, 'C'},
                                         {"optimizer", required_argument, 0, 'O'},
                                         {"lr", required_argument, 0, 'L'},
                                         {"batch", required_argument, 0, 'B'},
                                         {"steps", required_argument, 0, 'N'},
                                         {"weight-decay", required_argument, 0, 'W'},
                                         {"shuffle", no_argument, 0, 'F'},
                                         {"time-limit", required_argument, 0, 't'},
                                         {"mode", required_argument, 0, 1001},
                                         {"edge-width", required_argument, 0, 1002},
                                         {"node-width", required_argument, 0, 1003},
                                         {"kinetic-width", required_argument, 0, 1004},
                                         {"no-kinetic-linear", no_argument, 0, 1005},
                                         {0, 0, 0, 0}};
    const char *C = "train";
    train_opts o;
    memset(&o, 0, sizeof o);
    hrf_hnn_params_default(&o.hp);
    hrf_hgn_params_default(&o.gn);
    o.lr = o.weight_decay = NAN;
    o.steps = 1000, o.batch = 2048;
    cli_common common = {0};
    int r = cli_parse_options(C, argc, argv, "o:", opts, help, parse_option, &o, &common);
    if (r == CLI_PARSED) r = train_parsed(&o, &common, argc, argv);
    for (size_t i = 0; i < o.ndata; i++)
        if (o.data_owned[i]) free((char *)o.data_paths[i]);
    return r;
}
