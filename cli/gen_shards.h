/* hamrf generate --shards under mpirun (cli/gen_shards.c, docs/mpi.md):
 * each rank generates its share of a data set with random substreams that
 * do not depend on the number of ranks, and writes OUT.rankK-of-P.npz. */
#ifndef HAMRF_CLI_GEN_SHARDS_H
#define HAMRF_CLI_GEN_SHARDS_H

#include "hamrf/dataset.h"
#include "hamrf/particles.h"
#include "hamrf/systems.h"

#include <stddef.h>
#include <stdint.h>

/* Box states per random substream. */
#define SHARD_BLOCK 256

/* The seed of substream k (a block of states, or a trajectory) of `seed`. */
uint64_t shard_seed(uint64_t seed, uint64_t k);
/* This rank's file: OUT without ".npz", then ".rankK-of-P.npz" (K zero-padded
 * to the digits of P − 1, so that a glob lists the shards in rank order).
 * 0, or −1 when buf is too small. */
int shard_path(const char *out, char *buf, size_t size);
/* This rank's blocks of the gp->n states (*blocks: their number in all). */
int shard_box(const hrf_system *sys, const hrf_generate_params *gp, int pairs, double h,
              double flow_tol, hrf_dataset **out, size_t *blocks);
/* This rank's trajectories of the pp->trajectories. */
int shard_particles(const hrf_psystem *s, const hrf_pdata_params *pp, hrf_pdata **out);

#endif
