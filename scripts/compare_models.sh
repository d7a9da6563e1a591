#!/bin/sh
# Byte-for-byte comparison of two hamrf builds: every data and model file that
# `hamrf generate` / `hamrf train` / `hamrf rollout` writes with a fixed seed
# and thread count must be identical. Used to show that a refactoring changed
# no behaviour:
#
#   sh scripts/compare_models.sh OLD/hamrf NEW/hamrf [WORKDIR]
#
# Exit 0 when every file matches, 1 (naming the files) otherwise.
set -eu
OLD=$1
NEW=$2
W=${3:-$(mktemp -d)}
mkdir -p "$W/old" "$W/new"
rm -f "$W/differ"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2

# Each line: output file name, then the command's arguments. Data files come
# first (lj500: large enough for cell lists); later commands read the data that OLD wrote (in $W/old), so a
# difference in a model file is the fit's, not the data's.
CASES='
d.npz generate --system pendulum --n 2000 --seed 1
dp.npz generate --system double_pendulum --n 1500 --seed 3
pairs.npz generate --system pendulum --n 500 --seed 2 --pairs --h 0.1
chain.npz generate --system springs --topology chain --shape 8 --dim 2 --trajectories 4 --snapshots 10
lat.npz generate --system springs --topology lattice --shape 3x3x3 --potential anharmonic --snapshots 4
lj.npz generate --system lj --particles 108 --snapshots 3
lj500.npz generate --system lj --particles 500 --snapshots 3 --burn-in 20
hnn_elm.npz train --data D/d.npz --width 200 --sampler elm
hnn_uswim.npz train --data D/d.npz --width 200 --sampler uswim
hnn_swim.npz train --data D/d.npz --width 200 --sampler swim
hnn_aswim.npz train --data D/dp.npz --width 300 --sampler aswim
hnn_svd.npz train --data D/d.npz --width 150 --solver svd
hnn_qr.npz train --data D/d.npz --width 150 --solver qr
hnn_normal.npz train --data D/dp.npz --width 150 --solver normal
hnn_reduce.npz train --data D/dp.npz --width 150 --solver qr --reduce
hnn_corr.npz train --data D/pairs.npz --width 100 --correct
ode_auto.npz train --data D/dp.npz --model odenet --width 200
ode_svd.npz train --data D/d.npz --model odenet --width 150 --solver svd
ode_qr.npz train --data D/d.npz --model odenet --width 150 --solver qr
ode_normal.npz train --data D/dp.npz --model odenet --width 150 --solver normal
ode_ridge.npz train --data D/dp.npz --model odenet --width 150 --solver normal --ridge 1e-8
hgn_pair.npz train --model hgn --data D/chain.npz
hgn_mp.npz train --model hgn --mode mp --data D/chain.npz
hgn_lat.npz train --model hgn --data D/lat.npz --sampler swim
hgn_lj.npz train --model hgn --data D/lj.npz
hgn_lj500.npz train --model hgn --data D/lj500.npz --mode mp --node-width 20
adam.npz train --data D/d.npz --width 100 --optimizer adam --steps 200
lbfgs_ode.npz train --data D/d.npz --model odenet --width 100 --optimizer lbfgs --steps 50
roll_hnn.npz rollout --model D/hnn_swim.npz --x0=1,0 --dt 0.01 --steps 200 --every 10 --integrator midpoint --truth
roll_hgn.npz rollout --model D/hgn_pair.npz --data D/chain.npz --count 1 --dt 0.01 --steps 50 --truth
roll_lj.npz rollout --model D/hgn_lj.npz --data D/lj.npz --count 2 --dt 0.005 --steps 30 --every 10 --truth
'
fail=0
printf '%s\n' "$CASES" | while read -r out args; do
  [ -n "$out" ] || continue
  for side in old new; do
    bin=$OLD; [ "$side" = new ] && bin=$NEW
    # shellcheck disable=SC2086
    "$bin" $(printf '%s' "$args" | sed "s#D/#$W/old/#g") -o "$W/$side/$out" --quiet \
      || { echo "FAIL $side: $args"; exit 1; }
  done
  if cmp -s "$W/old/$out" "$W/new/$out"; then
    echo "same    $out"
  else
    echo "DIFFER  $out"
    echo x >>"$W/differ"
  fi
done
if [ -e "$W/differ" ]; then
  echo "compare_models: $(wc -l <"$W/differ") file(s) differ ($W)"
  exit 1
fi
echo "compare_models: all files byte-identical ($W)"
