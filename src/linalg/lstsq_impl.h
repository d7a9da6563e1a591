/* Private to src/linalg: what the three parts of the least-squares solver
 * share (lstsq.c: parameters, memory, the auto policy and hrf_lstsq_solve;
 * lstsq_dense.c: svd and qr; lstsq_normal.c: the Gram route). */
#ifndef HAMRF_SRC_LSTSQ_IMPL_H
#define HAMRF_SRC_LSTSQ_IMPL_H

#include <stddef.h>

#include "hamrf/lstsq.h"

/* Right-hand sides of a problem: 0 and 1 both mean one. */
size_t lsq_nrhs_of(const hrf_lsq_problem *prob);
/* HRF_ETOOBIG (stating the estimate and the limit) when solver s would not
 * fit the memory limit (p->mem_limit, else the available memory). */
int lsq_check_memory(const hrf_lstsq_params *p, hrf_solver s, const hrf_lsq_problem *prob);
double lsq_norm2(size_t n, const double *x);
/* ‖x‖ of a rows-long vector: over every rank when the problem's rows are
 * distributed (prob->comm), else lsq_norm2. *rc receives a failed
 * reduction's status (unchanged on success). */
double lsq_rows_norm2(const hrf_lsq_problem *prob, size_t n, const double *x, int *rc);
/* Y = A V for k columns (V cols x k, Y rows x k): one pass with the
 * problem's block product when it has one and k > 1, else apply per column. */
int lsq_apply_cols(const hrf_lsq_problem *prob, size_t k, const double *V, double *Y);
/* ‖A Θ − U‖ (Frobenius over the nrhs columns) via the problem's products. */
int lsq_residual_norm(const hrf_lsq_problem *prob, const double *theta, const double *u,
                      double *out);
/* Model flop count of dgelsd / dgelsy on m x n (m ≥ n): Householder QR
 * 2mn² − 2n³/3, plus about 11n³ for the SVD of the triangle; each right-hand
 * side beyond the first adds about 4mn (Qᵀ applied, back substitution). */
double lsq_dense_flops(hrf_solver s, double m, double n);
/* Dense solve of the full matrix A (use_reduce = 0) or of the problem's
 * orthogonally equivalent reduced matrix (use_reduce = 1), all right-hand
 * sides in one LAPACK call. */
int lsq_solve_dense(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, hrf_solver s,
                    int use_reduce, int equilibrate, double *theta, hrf_lstsq_report *rep);
/* The normal route (docs/math.md §4.5) for k = nrhs columns: one Gram, one
 * equilibration, one ridged Cholesky; the Cholesky solve for all columns,
 * PCG per column, then LSQR with the columns in lockstep. */
int lsq_solve_normal(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, int maxit, int probe,
                     double *theta, hrf_lstsq_report *rep);

#endif
