#!/bin/bash
# The equal-accuracy race on the 2D anisotropic Ornstein-Uhlenbeck Fokker-Planck problem of
# bench/fenicsx_ou.py: d_t rho = div(grad rho + rho grad V), V = ((x - 0.5)^2 + 3 (y + 0.5)^2)/2,
# from the Gaussian of mean (-1, 1) and variances (0.3, 0.2) on [-6, 6]^2 (no flux) to t = 0.7.
#
# Runs gradflow explicit (its default time stepper and CFL), Crank-Nicolson and BDF (fixed
# dt = DT_PER_H h, small enough that the time error stays below the spatial error of the
# variance) and the FEniCSx Q1 peer on a ladder of grids, and prints one table: method, N,
# dt, steps, mean error (Euclidean |m_h - m|), variance error (largest over the axes), wall
# seconds of the whole command as a user would time it (start-up included; median of REPEATS
# runs, interleaved over the configurations), then the smallest time at which each method
# reaches mean error <= TARGET.
#
# Environment: GF_BIN (default build/gradflow), PYTHON (/usr/bin/python3), LADDER (cells per
# axis), METHODS (explicit cn bdf fenicsx), REPEATS (3), TARGET (2.5e-4), CN_DT_PER_H (0.25),
# BDF_DT_PER_H (0.125), FULL=1 to run every N (default: a method stops climbing the ladder at
# the first N that reaches TARGET; a finer grid is only slower).
set -euo pipefail
cd "$(dirname "$0")/.."

GF_BIN=${GF_BIN:-build/gradflow}
PYTHON=${PYTHON:-/usr/bin/python3}
LADDER=${LADDER:-"32 48 64 96 128 192 256 384"}
METHODS=${METHODS:-"explicit cn bdf fenicsx"}
REPEATS=${REPEATS:-3}
TARGET=${TARGET:-2.5e-4}
CN_DT_PER_H=${CN_DT_PER_H:-0.25}
BDF_DT_PER_H=${BDF_DT_PER_H:-0.125}
FULL=${FULL:-0}
T_FINAL=0.7
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
PROBLEM="-dim 2 -domain_lower -6 -domain_upper 6 -potential quadratic -potential_stiffness 1,3 -potential_center 0.5,-0.5 -init_mean -1,1 -init_variance 0.3,0.2 -ts_max_time $T_FINAL -exact -output 0 -output_interval 0"
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

[ -x "$GF_BIN" ] || { echo "race.sh: no gradflow at $GF_BIN (set GF_BIN)" >&2; exit 2; }

# steps and dt = T_FINAL / steps of a fixed-step method at N cells: steps = round(T_FINAL / (dt_per_h h)), h = 12 / N
fixed_steps() { awk -v n="$1" -v c="$2" -v t="$T_FINAL" 'BEGIN { s = int(t / (c * 12 / n) + 0.5); if (s < 1) s = 1; print s }'; }

# the command of one configuration "method N"
command_of() {
  local method=$1 n=$2 steps
  case $method in
    explicit) echo "$GF_BIN run $PROBLEM -da_grid_x $n" ;;
    cn | bdf)
      local per_h=$CN_DT_PER_H extra=""
      [ "$method" = bdf ] && per_h=$BDF_DT_PER_H && extra="-ts_bdf_order 2"
      steps=$(fixed_steps "$n" "$per_h")
      echo "$GF_BIN run $PROBLEM -da_grid_x $n -ts_type $method $extra -ts_dt $(awk -v s="$steps" -v t="$T_FINAL" 'BEGIN { printf "%.17g", t / s }')" ;;
    fenicsx) echo "$PYTHON bench/fenicsx_ou.py $n" ;;
  esac
}

# run one configuration once: its output into $SCRATCH/method-N.out, its wall seconds appended to method-N.times
run_once() {
  local method=$1 n=$2 start end
  start=$(date +%s.%N)
  $(command_of "$method" "$n") >"$SCRATCH/$method-$n.out" 2>&1 || { echo "race.sh: $method at N = $n failed:" >&2; tail -5 "$SCRATCH/$method-$n.out" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }' >>"$SCRATCH/$method-$n.times"
}

# "steps dt mean_error variance_error" of a finished configuration
errors_of() {
  local method=$1 n=$2 out=$SCRATCH/$1-$2.out
  if [ "$method" = fenicsx ]; then
    awk -v n="$n" '$1 == n && NF == 9 { print $3, $2, $4, $5 }' "$out"
  else
    awk -v t="$T_FINAL" '/^  steps /{ s = $2 } /^  error_mean /{ m = $2 } /^  error_var /{ v = $2 } END { printf "%d %.4e %s %s\n", s, t / s, m, v }' "$out"
  fi
}

median_of() { sort -g "$1" | awk '{ x[NR] = $1 } END { print (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2 }'; }

reaches() { awk -v e="$1" -v t="$TARGET" 'BEGIN { exit !(e <= t) }'; }

# first pass: climb each method's ladder (stopping at the target unless FULL=1)
configs=()
for method in $METHODS; do
  for n in $LADDER; do
    run_once "$method" "$n"
    configs+=("$method $n")
    read -r _ _ mean _ <<<"$(errors_of "$method" "$n")"
    if [ "$FULL" != 1 ] && reaches "$mean"; then break; fi
  done
done
# further repeats, interleaved over the configurations
for ((r = 2; r <= REPEATS; r++)); do
  for config in "${configs[@]}"; do run_once $config; done
done

printf "equal-accuracy race: 2D Ornstein-Uhlenbeck to t = %s, gradflow %s, median of %s runs\n" "$T_FINAL" "$GF_BIN" "$REPEATS"
printf "%-9s %5s %10s %6s %10s %10s %8s\n" method N dt steps "mean err" "var err" "wall s"
declare -A best_time best_n
for config in "${configs[@]}"; do
  read -r method n <<<"$config"
  read -r steps dt mean variance <<<"$(errors_of "$method" "$n")"
  wall=$(median_of "$SCRATCH/$method-$n.times")
  printf "%-9s %5d %10.4e %6d %10.3e %10.3e %8.3f\n" "$method" "$n" "$dt" "$steps" "$mean" "$variance" "$wall"
  if reaches "$mean" && { [ -z "${best_time[$method]:-}" ] || awk -v a="$wall" -v b="${best_time[$method]}" 'BEGIN { exit !(a < b) }'; }; then
    best_time[$method]=$wall
    best_n[$method]=$n
  fi
done
printf "smallest wall time to mean error <= %s:\n" "$TARGET"
for method in $METHODS; do
  if [ -n "${best_time[$method]:-}" ]; then
    printf "  %-9s %8.3f s (N = %s)\n" "$method" "${best_time[$method]}" "${best_n[$method]}"
  else
    printf "  %-9s not reached on the ladder (%s)\n" "$method" "$LADDER"
  fi
done
