#!/usr/bin/env bash
# Step time of the mean_field_nn model at 256^2 neurons (issue 16, point 5): the scaled tanh
# network of problems/nn_width_sweep_2d.yaml (one pass over the data per row of the neuron grid)
# and the ReLU student of problems/nn_relu_teacher_2d.yaml (one pass per cell), with M = 10^3
# and 10^4 data points, on 1 and 2 ranks; seconds per step from the run summary's wall time
# (start-up excluded), the median of REPEATS runs, the configurations interleaved.
#   bench/nn_step.sh [GF_BIN]     environment: REPEATS (3), STEPS (2), GRID (256)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/gradflow}
repeats=${REPEATS:-3} steps=${STEPS:-2} grid=${GRID:-256}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
declare -A times
configs=()
for problem in nn_width_sweep_2d nn_relu_teacher_2d; do
  for m in 1000 10000; do
    for np in 1 2; do configs+=("$problem $m $np"); done
  done
done
for ((r = 0; r < repeats; r++)); do
  for c in "${configs[@]}"; do
    read -r problem m np <<< "$c"
    wall=$(mpirun -n "$np" "$bin" run -options_file "problems/$problem.yaml" -da_grid_x "$grid" -da_grid_y "$grid" -nn_samples "$m" -ts_max_steps "$steps" -output 0 -progress 0 |
      awk '/^ *steps/ { for (k = 1; k <= NF; k++) if ($k == "wall") print $(k + 1) }')
    times[$c]="${times[$c]:-} $wall"
  done
done
printf "%-20s %7s %6s %14s\n" problem M ranks "s per step"
for c in "${configs[@]}"; do
  read -r problem m np <<< "$c"
  median=$(printf "%s\n" ${times[$c]} | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  printf "%-20s %7s %6s %14.3f\n" "$problem" "$m" "$np" "$(awk -v w="$median" -v s="$steps" 'BEGIN { print w / s }')"
done
