#!/bin/bash
# The explicit 2D step, gradflow against its NumPy peer (bench/numpy_step.py: SSP-RK3, minmod
# upwind drift, central diffusion, no-flux walls, the same double well), interleaved: R rounds
# of one `gradflow bench step` run and one NumPy run at N^2 cells, then the medians of the cell
# updates per second and their ratio.
#   bench/step_vs_numpy.sh [N [R]]        (default 1024 3; GF_BIN, PYTHON override the programs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
gf=${GF_BIN:-$here/../build/gradflow}
python=${PYTHON:-/usr/bin/python3}
n=${1:-1024}
rounds=${2:-3}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
gf_rates=()
np_rates=()
for r in $(seq 1 "$rounds"); do
  gf_rates+=("$("$gf" bench step -bench_sizes "$n" -bench_repeat 1 | awk '$1 ~ /\^/ { print $5 }')")
  np_rates+=("$("$python" "$here/numpy_step.py" "$n" 20 | awk '/cell updates per second/ { print $(NF - 4) }')")
  echo "round $r: gradflow ${gf_rates[-1]}, numpy ${np_rates[-1]} cell updates per second"
done
gf_median=$(printf '%s\n' "${gf_rates[@]}" | median)
np_median=$(printf '%s\n' "${np_rates[@]}" | median)
printf 'step at %s^2, medians of %s interleaved rounds: gradflow %.3e, numpy %.3e cell updates per second: %.1fx\n' \
  "$n" "$rounds" "$gf_median" "$np_median" "$(awk -v a="$gf_median" -v b="$np_median" 'BEGIN { print a / b }')"
