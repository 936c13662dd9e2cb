# study.sh CASE: gradflow study. Cases:
#   ou        Ornstein-Uhlenbeck 1D, 64..1024 cells against the exact solution: L1 order >= 1.8, W1 and W2 reported
#   barenblatt porous medium 2D, m = 2: L1 order in [1, 2] against Barenblatt; self-convergence within 0.2 of it
#   barenblatt1d porous medium 1D, m = 2, 128 ... 2048 cells with the model's default scheme: L1 orders 1.5 - 2.2
#   time      time refinement on 256 cells: backward Euler order 1 +- 0.1, SSP-RK3 (both tableaus) >= 2.7
#   ranks     the same studies on 1 and 2 ranks give the same table to 1e-10
#   bad       refusals before any level runs: memory, levels, coarsest grid, reference, output directory
source "$(dirname "$0")/common.sh"
case=$1
problems=$GF_SRC/problems

# column FILE NAME LEVEL: the value of column NAME in the row of LEVEL of a study.csv
column() {
  awk -F, -v name="$2" -v level="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
    $1 == level { if (!c) exit 1; print $c; found = 1 } END { if (!found) exit 1 }' "$1"
}

case $case in
ou)
  gf_run 1 study -options_file "$problems/study_fokker_planck_1d.yaml" -output_dir ou -study_plot 0 > ou.log
  cat ou.log
  grep -q "errors against the exact solution" ou.log
  grep -q "^\[study\] level 5/5: 1024 cells per axis" ou.log
  head -n 1 ou/study.csv | grep -q '^level,cells,h,dt,error_l1,error_l2,error_linf,order_l1,order_l2,order_linf,seconds,error_w1,error_w2,order_w1,order_w2,error_mass,time,dt_rule$'
  test "$(column ou/study.csv cells 4)" = 1024
  for level in 1 2 3 4; do
    check "L1 order, level $level" "$(column ou/study.csv order_l1 $level)" 1.8 2.2
    check "W1 order, level $level" "$(column ou/study.csv order_w1 $level)" 1.8 2.2
    check "W2 order, level $level" "$(column ou/study.csv order_w2 $level)" 1.8 2.2
  done
  check "L1 error at 1024 cells" "$(column ou/study.csv error_l1 4)" 1e-6 3e-5
  check "mass error at 1024 cells" "$(column ou/study.csv error_mass 4)" 0 1e-12
  check "final time" "$(column ou/study.csv time 4)" 1 1
  ;;
barenblatt)
  gf_run 1 study -options_file "$problems/study_porous_medium_2d.yaml" -output_dir exact -study_plot 0 > exact.log
  gf_run 1 study -options_file "$problems/study_porous_medium_2d.yaml" -study_reference self -output_dir self -study_plot 0 > self.log
  cat exact.log self.log
  grep -q "errors against the finest level" self.log
  grep -q "Richardson estimate of the finest level's error: l1" self.log
  test -z "$(column self/study.csv error_l1 3)"
  for level in 1 2 3; do
    check "Barenblatt L1 order, level $level" "$(column exact/study.csv order_l1 $level)" 1 2
  done
  for level in 1 2; do
    e=$(column exact/study.csv order_l1 $level)
    s=$(column self/study.csv order_l1 $level)
    check "self-convergence L1 order minus exact order, level $level" "$(awk -v a="$s" -v b="$e" 'BEGIN { print a - b }')" -0.2 0.2
  done
  ;;
barenblatt1d)
  # the porous medium's default time scheme is implicit backward Euler, whose first-order time error would
  # be measured instead of the space error: a space study takes the explicit CFL step of each level instead
  gf_run 1 study -model porous_medium -init barenblatt -init_time 1 -ts_max_time 2 -study_coarsest 128 -study_levels 5 -output_dir b1d -study_plot 0 > b1d.log
  cat b1d.log
  grep -q "time steps: the explicit CFL step of each level (SSP-RK3 in place of the model's implicit default" b1d.log
  test "$(column b1d/study.csv cells 4)" = 2048 && test "$(column b1d/study.csv dt_rule 4)" = cfl
  for level in 1 2 3 4; do
    check "1D Barenblatt L1 order, level $level" "$(column b1d/study.csv order_l1 $level)" 1.5 2.2
  done
  check "1D Barenblatt L1 error at 2048 cells" "$(column b1d/study.csv error_l1 4)" 0 5e-6
  ;;
time)
  fp="-options_file $problems/study_fokker_planck_1d.yaml -da_grid_x 256 -study_refine time -study_plot 0"
  gf_run 1 study $fp -ts_type beuler -study_dt 0.02 -study_levels 5 -output_dir beuler > beuler.log
  gf_run 1 study $fp -ts_type rk -study_dt 0.004 -study_levels 4 -output_dir ssprk43 > ssprk43.log
  gf_run 1 study $fp -ts_type rk -ts_rk_type ssprk33 -study_dt 0.002 -study_levels 4 -output_dir ssprk33 > ssprk33.log
  cat beuler.log ssprk43.log ssprk33.log
  grep -q "time refinement, errors against the finest level" beuler.log
  test "$(column beuler/study.csv cells 0)" = 256 && test "$(column beuler/study.csv cells 4)" = 256
  check "backward Euler dt, level 3" "$(column beuler/study.csv dt 3)" 0.0025 0.0025
  for level in 1 2 3; do
    check "backward Euler L1 order, level $level" "$(column beuler/study.csv order_l1 $level)" 0.9 1.1
  done
  for tableau in ssprk43 ssprk33; do
    for level in 1 2; do
      check "$tableau L1 order, level $level" "$(column $tableau/study.csv order_l1 $level)" 2.7 3.3
    done
  done
  ;;
ranks)
  for n in 1 2; do
    gf_run $n study -options_file "$problems/study_mckean_vlasov_1d.yaml" -study_levels 3 -output_dir mv$n -study_plot 0 > mv$n.log
    gf_run $n study -options_file "$problems/study_porous_medium_2d.yaml" -study_coarsest 16 -study_levels 3 -study_reference self -output_dir pm$n -study_plot 0 > pm$n.log
  done
  cat mv2.log pm2.log
  for s in mv pm; do
    # every column but seconds to 1e-10 relative; the mass error is roundoff (1e-16), compared to 1e-13 absolute
    if ! awk -F, 'NR == FNR { row[FNR] = $0; next }
      FNR == 1 { n = split($0, head, ","); if ($0 != row[1]) { print "headers differ"; bad = 1 }; next }
      { split(row[FNR], a, ",")
        for (i = 1; i <= n; i++) {
          if (head[i] == "seconds") continue
          x = a[i] + 0; y = $i + 0; d = x > y ? x - y : y - x; m = (x < 0 ? -x : x); if ((y < 0 ? -y : y) > m) m = y < 0 ? -y : y
          if (head[i] == "error_mass" ? d > 1e-13 : d > 1e-10 * m) { print "row " FNR " " head[i] ": " a[i] " vs " $i; bad = 1 }
        } }
      END { exit bad }' ${s}1/study.csv ${s}2/study.csv; then
      echo "FAIL: $s study differs between 1 and 2 ranks"
      exit 1
    fi
    echo "ok: $s study on 1 and 2 ranks agrees to 1e-10 ($(($(wc -l < ${s}1/study.csv) - 1)) levels)"
  done
  ;;
bad)
  # -help lists the study's options and a run's
  "$GF_BIN" study -help > help.log 2>&1
  for option in -study_levels -study_coarsest -study_refine -study_dt -study_reference -study_every_output -output_dir -model -ts_type; do
    grep -q -- "$option" help.log || { echo "FAIL: study -help does not list $option"; exit 1; }
  done
  test ! -e output || { echo "FAIL: study -help created an output directory"; exit 1; }
  echo "ok: study -help lists the options and creates nothing"
  failures=0
  # expect 'MESSAGE' ARGS...: gradflow study ARGS exits with status 2, MESSAGE on stderr, and no level has run
  expect() {
    local message=$1
    shift
    set +e
    gf_run 1 study "$@" > out.log 2> err.log
    local got=$?
    set -e
    if [ "$got" -ne 2 ] || ! grep -qF -- "$message" err.log || grep -q "^\[study\] level 2" out.log; then
      echo "FAIL: gradflow study $* -> status $got (want 2), stdout/stderr:"
      cat out.log err.log
      failures=$((failures + 1))
    else
      echo "ok: $* -> 2: $(head -n 1 err.log)"
    fi
  }
  expect "-study_levels 1: a study needs at least 2 levels" -study_levels 1
  expect "-study_levels 17: at most 16 levels" -study_levels 17
  expect "the finest level, 262144^2 cells, needs about" -dim 2 -study_coarsest 64 -study_levels 13
  expect "the finest level, 4096^3 cells, needs about" -dim 3 -study_coarsest 64 -study_levels 7
  expect "-study_coarsest 3: a grid of 3 cells per axis is too small for the stencil" -study_coarsest 3
  expect "-study_levels 2: this problem has no exact solution, so errors are measured against the finest level (self-convergence), which needs at least 3 levels" -potential double_well -study_levels 2 -study_coarsest 8
  expect "-study_levels 2: -study_reference self" -study_reference self -study_levels 2 -study_coarsest 8
  expect "-study_refine time needs the coarsest step: -study_dt or -ts_dt" -study_refine time
  expect "-study_refine sideways: valid are space, time, both" -study_refine sideways
  expect "-study_reference finest: valid are exact, self" -study_reference finest
  mkdir -p taken && touch taken/notes.txt
  expect "-output_dir taken: the directory exists and holds other results" -output_dir taken -study_coarsest 8
  test -f taken/notes.txt
  [ "$failures" -eq 0 ] || exit 1
  # a level that fails (here: the 128-cell level needs 112 CFL steps, more than -ts_max_steps) keeps the finished levels' table
  set +e
  gf_run 1 study -options_file "$problems/study_fokker_planck_1d.yaml" -study_coarsest 8 -study_levels 5 -ts_max_steps 100 -output_dir partial -study_plot 0 > partial.log 2> partial.err
  status=$?
  set -e
  cat partial.log partial.err
  test $status -eq 2 && grep -q "level 5 stopped at t = .* before -ts_max_time 1 (-ts_max_steps)" partial.err && grep -q "level 5 failed; the table of levels 1 to 4 follows" partial.log
  test "$(wc -l < partial/study.csv)" -eq 5 && test "$(column partial/study.csv cells 3)" = 64
  echo "ok: a failed level keeps the table of the levels before it"
  # -study_every_output: a table per output time in study_times.csv
  gf_run 2 study -options_file "$problems/study_fokker_planck_1d.yaml" -study_levels 3 -study_coarsest 32 -study_every_output -output_interval 0.25 -output_dir every -study_plot 0 > every.log
  test "$(grep -c '^convergence study at t = ' every.log)" -eq 4
  test "$(awk -F, 'NR > 1 { print $1 }' every/study_times.csv | sort -u | tr '\n' ' ')" = "0.25 0.5 0.75 1 "
  test "$(wc -l < every/study_times.csv)" -eq 13
  echo "ok: -study_every_output measures at t = 0.25, 0.5, 0.75, 1"
  ;;
*)
  echo "unknown case $case"
  exit 1
  ;;
esac
