/* Private to src/reproduce: what the experiments of `hamrf reproduce paper2`
 * (paper2.c) share with the optimizer table (paper2_optim.c). */
#ifndef HAMRF_SRC_REPRODUCE_PAPER2_IMPL_H
#define HAMRF_SRC_REPRODUCE_PAPER2_IMPL_H

#include "hamrf/hgn.h"
#include "hamrf/particles.h"
#include "hamrf/reproduce.h"
#include "reproduce/repro_impl.h"

/* Spring-graph data: T trajectories of S snapshots of a (a, b, c) chain or
 * lattice in D dimensions with `kind` bonds, seeded with seed + p->seed. */
int p2_springs(const hrf_repro_params *p, hrf_topology topo, size_t a, size_t b, size_t c, int D,
               hrf_pair_kind kind, size_t T, size_t S, uint64_t seed, hrf_pdata **out);

/* Fits the sampled graph network (hrf_hgn_params_default, mode, p->seed);
 * *secs its fit time. HRF_EINVAL from _check (e.g. a mode not built yet) is
 * returned with its message for the caller to report. */
int p2_fit(const hrf_repro_params *p, hrf_hgn_mode mode, const hrf_pdata *d, hrf_hgn **m,
           double *secs);

/* The optimizer table on the 3D lattice (paper2_optim.c, docs/math.md §10.1). */
int p2_exp_lattice_3d_optimizers(const hrf_repro_params *p);

#endif
