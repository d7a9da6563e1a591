/* hamrf: Hamiltonian neural networks and graph networks trained without
 * gradient descent (sampled hidden layers, one least-squares solve).
 *
 * The umbrella header: includes every public header of the library. C11,
 * usable from C++ (extern "C"). Link with -lhamrf (pkg-config hamrf).
 * Conventions (docs/architecture.md): functions return HRF_OK (0) or a
 * negative hrf_status, with the detail in hrf_last_error(); objects are
 * created by the call that computes them and released by a NULL-safe _free;
 * metadata crosses the API as JSON text. */
#ifndef HAMRF_H
#define HAMRF_H

#include "hamrf/export.h"
#include "hamrf/version.h"

#include "hamrf/status.h"
#include "hamrf/meta.h"
#include "hamrf/progress.h"
#include "hamrf/rng.h"
#include "hamrf/blas.h"
#include "hamrf/comm.h"
#include "hamrf/lstsq.h"
#include "hamrf/activation.h"
#include "hamrf/sampler.h"
#include "hamrf/systems.h"
#include "hamrf/field.h"
#include "hamrf/dataset.h"
#include "hamrf/mdio.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"
#include "hamrf/metrics.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/hgn.h"
#include "hamrf/hgn_field.h"
#include "hamrf/model.h"
#include "hamrf/integrators.h"
#include "hamrf/rollout.h"
#include "hamrf/optim.h"
#include "hamrf/baseline.h"
#include "hamrf/reproduce.h"
#include "hamrf/abi.h"

#endif
