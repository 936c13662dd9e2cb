# particles.sh CASE: gradflow particles and gradflow compare. Cases:
#   runs      the output contract of a particle run; the same particles on 1, 2 and 4 ranks (bit for bit with
#             direct sums, to 1e-12 by particle-mesh); a PDE run and a particle run share a directory
#   ou        Ornstein-Uhlenbeck, 10^5 particles, 20 replicas: W1 at t = 1 within 3 standard errors of the
#             sampling floor, the marginal's mean and variance within 3 standard errors of the PDE's, W1 ~ N^-1/2
#   formats   the same particles as gradflow output, CSV, NPY and HDF5 give identical metrics; in 2D the
#             same bits on 1, 2 and 4 ranks
#   chaos     V = W = x^2/2: the stationary one-particle variance for N = 10, 20, 40 against the exact
#             Euler-Maruyama value 1/(2(1 - dt)) (1 - 1/N) + 1/(N (1 - dt/2)) -> 1/2 + 1/(2N)
#   svgd      bilinear SVGD particles against the PDE: the sample's moment errors contract as both flows approach the target
#   bad       every bad particle file and comparison fails with exit status 2 and a clear message
#   mesh      particle-mesh with the particles owned by position: 2D Morse (no-flux, Euler-Maruyama), periodic
#             Gaussian, deterministic Heun and 1D Morse runs (4 slabs: ranks whose neighbours are not all the
#             others, particles that move past them) give the same particles on 1, 2 and 4 ranks to 1e-12 by
#             id; -particles_init_file continues a run from its file (direct sums bit for bit, particle-mesh
#             to 1e-12, on another rank count), and refuses a file that does not fit with status 2
source "$(dirname "$0")/common.sh"
case=$1
problems=$GF_SRC/problems

# value FILE COLUMN [ROW]: column COLUMN of row ROW (default: the last) of a CSV file with a header
value() {
  awk -F, -v name="$2" -v row="${3:-0}" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
    { last = $c; if (NR - 1 == row) { print $c; found = 1; exit } } END { if (!c) exit 1; if (!found && row == 0) print last }' "$1"
}

# row FILE TIME N COLUMN: column COLUMN of the row with time TIME and n_particles N
row() {
  awk -F, -v t="$2" -v n="$3" -v name="$4" 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == name) c = i; if ($i == "time") ct = i; if ($i == "n_particles") cn = i }; next }
    ($ct - t < 1e-9 && t - $ct < 1e-9 && $cn == n) { print $c; found = 1 } END { if (!c || !found) exit 1 }' "$1"
}

# within DESCRIPTION A B SE K: |A - B| <= K SE (prints the z-score)
within() {
  local z
  z=$(awk -v a="$2" -v b="$3" -v se="$4" 'BEGIN { printf "%.2f", (a - b) / se }')
  if awk -v z="$z" -v k="$5" 'BEGIN { exit !(z >= -k && z <= k) }'; then
    echo "ok: $1: $2 against $3, $z standard errors ($4)"
  else
    echo "FAIL: $1: $2 against $3 is $z standard errors ($4) away, more than $5"
    exit 1
  fi
}

# identical A B: the /particles datasets of two particle files are equal bit for bit
identical() {
  if ! "$GF_H5DIFF" "$1" "$2" /particles /particles > h5diff.log; then
    echo "FAIL: $1 and $2 differ:"
    head -20 h5diff.log
    exit 1
  fi
}

case $case in
runs)
  gf_run 1 run -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -output_dir ou > pde.log
  gf_run 1 particles -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -particles_n 3000 -output_dir ou > particles.log
  cat particles.log
  for k in 00000 00005 00010; do
    test -f "ou/snap_$k.h5" && test -f "ou/particles_$k.h5" || { echo "FAIL: snapshot and particle file $k are not side by side"; exit 1; }
  done
  test ! -e ou/particles_00011.h5
  h5dump -H ou/particles_00010.h5 > header.log
  for attribute in time step model dim n_particles seed domain_lower domain_upper bc options version; do
    grep -q "ATTRIBUTE \"$attribute\"" header.log || { echo "FAIL: particle file lacks attribute $attribute"; exit 1; }
  done
  grep -q 'DATASPACE  SIMPLE { ( 3000, 1 ) / ( 3000, 1 ) }' header.log || { echo "FAIL: /particles is not [n][dim]"; exit 1; }
  head -n 1 ou/particles.csv | grep -q '^step,time,dt,mean_x,cov_xx$'
  test "$(wc -l < ou/particles.csv)" -eq 12
  ls ou/*.tmp 2> /dev/null && { echo "FAIL: temporary files left"; exit 1; }
  echo "ok: particle files next to the snapshots, at their times, with the contract's attributes"
  set +e
  gf_run 1 particles -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -particles_n 30 -output_dir ou > again.log 2>&1
  status=$?
  set -e
  test $status -eq 2 && grep -q "holds other results; add -output_overwrite" again.log || { echo "FAIL: a second particle run replaced the first without -output_overwrite"; cat again.log; exit 1; }
  gf_run 1 particles -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -particles_n 30 -output_dir ou -output_overwrite > /dev/null
  test -f ou/snap_00010.h5 || { echo "FAIL: -output_overwrite of the particles removed the PDE run"; exit 1; }
  h5dump -H ou/particles_00010.h5 | grep -q 'DATASPACE  SIMPLE { ( 30, 1 ) / ( 30, 1 ) }' || { echo "FAIL: -output_overwrite did not replace the particle run"; exit 1; }
  echo "ok: -output_overwrite replaces the particle run and keeps the PDE run"
  gf_run 1 compare -pde ou -compare_plot 0 > /dev/null
  rm ou/particles_*.h5 ou/particles.csv
  gf_run 1 particles -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -particles_n 30 -output_dir ou > /dev/null
  gf_run 1 run -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -output_dir ou -output_overwrite > /dev/null
  test -f ou/compare.csv && test -f ou/particles_00010.h5 && test -f ou/snap_00010.h5 || { echo "FAIL: a comparison and a particle run did not survive beside the PDE run"; exit 1; }
  echo "ok: PDE run, particle run and comparison share a directory; each -output_overwrite replaces only its own files"

  # the same particles on 1, 2 and 4 ranks: direct sums bit for bit, particle-mesh to round-off
  systems=("-options_file $problems/particles_ou_1d.yaml -particles_n 3000"
    "-options_file $problems/chaos_mckean_vlasov_1d.yaml -particles_n 500 -particles_max_time 0.5 -output_interval 0.25"
    "-model mckean_vlasov -dim 2 -da_grid_x 32 -da_grid_y 32 -potential quadratic -interaction morse -particles_n 400 -ts_max_time 0.2 -output_interval 0.1"
    "-model svgd -dim 2 -da_grid_x 32 -da_grid_y 32 -potential quadratic -kernel gaussian -particles_n 300 -ts_max_time 0.2 -output_interval 0.1"
    "-model mckean_vlasov -da_grid_x 128 -potential quadratic -interaction gaussian -particles_interaction mesh -particles_n 5000 -ts_max_time 0.2 -output_interval 0.1")
  for s in "${!systems[@]}"; do
    for n in 1 2 4; do
      # shellcheck disable=SC2086
      gf_run "$n" particles ${systems[$s]} -output_dir "s$s.np$n" > "s$s.np$n.log"
    done
    for file in s$s.np1/particles_*.h5; do
      for n in 2 4; do
        if [ "$s" -eq 4 ]; then
          same=$("$GF_H5DIFF" -d 1e-12 "$file" "s$s.np$n/$(basename "$file")" /particles /particles > /dev/null && echo yes || echo no)
          test "$same" = yes || { echo "FAIL: particle-mesh on $n ranks differs by more than 1e-12"; exit 1; }
        else
          identical "$file" "s$s.np$n/$(basename "$file")"
        fi
      done
    done
    echo "ok: ${systems[$s]}: the same particles on 1, 2 and 4 ranks $(grep -o "([a-z -]*)" "s$s.np1.log" | head -n 1)"
  done
  ;;
ou)
  gf_run 2 run -options_file "$problems/particles_ou_1d.yaml" -output_dir ou -output_interval 0.5 > pde.log
  gf_run 2 compare -pde ou -particle_counts 1000,10000,100000 -particle_replicas 20 -compare_plot 0 > sweep.log
  cat sweep.log
  n=100000
  w1=$(row ou/compare.csv 1 $n w1)
  floor=$(row ou/compare.csv 1 $n w1_floor)
  within "W1 of 10^5 particles at t = 1 against the sampling floor E[W1]" "$w1" "$floor" "$(row ou/compare.csv 1 $n w1_stderr)" 3
  within "mean of the one-particle marginal minus the PDE's" "$(row ou/compare.csv 1 $n marginal_mean_bias)" 0 "$(row ou/compare.csv 1 $n marginal_mean_bias_stderr)" 3
  within "variance of the one-particle marginal minus the PDE's" "$(row ou/compare.csv 1 $n marginal_cov_bias)" 0 "$(row ou/compare.csv 1 $n marginal_cov_bias_stderr)" 3
  for m in 1000 10000; do
    within "W1 of $m particles at t = 1 against the sampling floor" "$(row ou/compare.csv 1 $m w1)" "$(row ou/compare.csv 1 $m w1_floor)" "$(row ou/compare.csv 1 $m w1_stderr)" 3
  done
  rate=$(awk -F, '$1 == 1 && $2 == "w1" { print $3 " " $4 }' ou/compare_rates.csv)
  within "rate of W1 in N" "${rate% *}" -0.5 "${rate#* }" 3
  ;;
formats)
  gf_run 1 run -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -output_dir pde > /dev/null
  gf_run 2 particles -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 256 -particles_n 4000 -output_dir pde > /dev/null
  mkdir user
  "$GF_TOOL" export pde/particles_00010.h5 user/cloud_t1.csv
  "$GF_TOOL" export pde/particles_00010.h5 user/cloud_t1.npy
  "$GF_TOOL" export pde/particles_00010.h5 user/cloud.h5
  gf_run 1 compare -pde pde -particles pde/particles_00010.h5 -output_dir gradflow -compare_plot 0 > gradflow.log
  gf_run 2 compare -pde pde -particles user/cloud_t1.csv -output_dir csv -compare_plot 0 > csv.log
  gf_run 1 compare -pde pde -particles user/cloud_t1.npy -output_dir npy -compare_plot 0 > npy.log
  gf_run 2 compare -pde pde -particles user/cloud.h5 -particles_dataset cloud -output_dir hdf5 -compare_plot 0 > hdf5.log
  cat gradflow.log
  for f in csv npy hdf5; do
    cmp gradflow/compare.csv "$f/compare.csv" || { echo "FAIL: $f gives other metrics than the gradflow file:"; cat gradflow/compare.csv "$f/compare.csv"; exit 1; }
  done
  test "$(wc -l < gradflow/compare.csv)" -eq 2
  head -n 1 gradflow/compare.csv | grep -q '^time,n_particles,w1,w2,l1,mean_error,cov_error,mmd,w1_floor$'
  echo "ok: gradflow output, CSV, NPY and HDF5 of the same particles give identical metrics (on 1 and 2 ranks)"
  gf_run 1 compare -pde pde -output_dir all -compare_plot 0 > all.log
  test "$(wc -l < all/compare.csv)" -eq 12 && echo "ok: -particles defaults to the PDE run's directory: 11 times compared"
  # 2D: sliced W2 and an MMD subsample of particles spread over the ranks, the same bits on 1, 2 and 4 ranks
  two_d="-model fokker_planck -dim 2 -da_grid_x 32 -da_grid_y 32 -potential quadratic -ts_max_time 0.1 -output_interval 0.1"
  # shellcheck disable=SC2086
  gf_run 1 run $two_d -output_dir pde2 > /dev/null
  # shellcheck disable=SC2086
  gf_run 1 particles $two_d -particles_n 3000 -particles_dt 0.01 -output_dir pde2 > /dev/null
  "$GF_TOOL" export pde2/particles_00001.h5 user/cloud2_t0.1.csv
  for n in 1 2 4; do
    gf_run "$n" compare -pde pde2 -particles user/cloud2_t0.1.csv -compare_mmd_max 700 -compare_slices 16 -output_dir cmp2.np$n -compare_plot 0 > /dev/null
  done
  for n in 2 4; do
    cmp cmp2.np1/compare.csv cmp2.np$n/compare.csv || { echo "FAIL: 2D metrics on $n ranks differ from 1 rank:"; cat cmp2.np1/compare.csv cmp2.np$n/compare.csv; exit 1; }
  done
  echo "ok: 2D metrics (sliced W2, MMD of a subsample) of a CSV cloud are the same bits on 1, 2 and 4 ranks"
  ;;
chaos)
  gf_run 1 run -options_file "$problems/chaos_mckean_vlasov_1d.yaml" -da_grid_x 256 -output_dir chaos > pde.log
  dt=0.002
  gf_run 2 compare -pde chaos -particle_counts 10,20,40 -particle_replicas 8 -particles_dt $dt -particles_max_time 300 -compare_stationary 4 -compare_plot 0 > sweep.log
  cat sweep.log
  for n in 10 20 40; do
    exact=$(awk -v n=$n -v dt=$dt 'BEGIN { printf "%.10f", (1 - 1 / n) / (2 * (1 - dt)) + 1 / (n * (1 - dt / 2)) }')
    line=$(awk -F, -v n=$n '$1 == n' chaos/compare_stationary.csv)
    variance=$(echo "$line" | cut -d, -f10)
    se=$(echo "$line" | cut -d, -f11)
    within "stationary one-particle variance, N = $n (exact Euler-Maruyama value $exact)" "$variance" "$exact" "$se" 3
  done
  rate=$(awk -F, '$2 == "stationary_cov_bias" { print $3 " " $4 }' chaos/compare_rates.csv)
  within "exponent of the variance bias in N" "${rate% *}" -1 "${rate#* }" 3
  ;;
svgd)
  gf_run 2 run -options_file "$problems/particles_svgd_2d.yaml" -da_grid_x 64 -da_grid_y 64 -output_dir svgd > pde.log
  gf_run 2 particles -options_file "$problems/particles_svgd_2d.yaml" -da_grid_x 64 -da_grid_y 64 -output_dir svgd > particles.log
  gf_run 2 compare -pde svgd -compare_plot 0 > compare.log
  cat compare.log
  # the particles' moments follow the moment ODE from their sample's moments, the PDE's from the exact
  # ones; both flows contract to the target's, so the errors of the sample fall by far more than 5x
  for metric in mean_error cov_error; do
    first=$(value svgd/compare.csv $metric 1)
    check "$metric at t = 2 over $metric at t = 0 ($first)" "$(awk -v a="$(value svgd/compare.csv $metric)" -v b="$first" 'BEGIN { print a / b }')" 0 0.2
  done
  head -n 1 svgd/compare.csv | grep -q '^time,n_particles,sliced_w2,l1,mean_error,cov_error,mmd$'
  ;;
mesh)
  # the same particles by id on 1, 2 and 4 ranks, every particle file
  systems=("-model mckean_vlasov -dim 2 -da_grid_x 64 -da_grid_y 64 -potential quadratic -interaction morse -particles_n 20000 -ts_max_time 0.05 -output_interval 0.025 -particles_dt 0.005"
    "-model mckean_vlasov -dim 2 -bc periodic -da_grid_x 32 -da_grid_y 48 -potential quadratic -interaction gaussian -particles_n 5000 -ts_max_time 0.1 -output_interval 0.05 -particles_dt 0.005"
    "-model mckean_vlasov -dim 2 -diffusion 0 -da_grid_x 32 -da_grid_y 32 -potential quadratic -interaction morse -particles_n 5000 -ts_max_time 0.1 -output_interval 0.05 -particles_dt 0.005"
    "-model mckean_vlasov -dim 1 -da_grid_x 64 -potential quadratic -interaction morse -particles_n 5000 -ts_max_time 0.05 -output_interval 0.025 -particles_dt 0.005")
  for s in "${!systems[@]}"; do
    for n in 1 2 4; do
      # shellcheck disable=SC2086
      gf_run "$n" particles ${systems[$s]} -particles_interaction mesh -output_dir "m$s.np$n" > "m$s.np$n.log"
    done
    grep -q "(particle-mesh), 4 ranks" "m$s.np4.log" || { echo "FAIL: the run was not particle-mesh on 4 ranks"; cat "m$s.np4.log"; exit 1; }
    for file in "m$s.np1"/particles_*.h5; do
      for n in 2 4; do
        "$GF_H5DIFF" -d 1e-12 "$file" "m$s.np$n/$(basename "$file")" /particles /particles > /dev/null || { echo "FAIL: ${systems[$s]}: $(basename "$file") on $n ranks differs from 1 rank by more than 1e-12"; exit 1; }
      done
    done
    echo "ok: ${systems[$s]}: particle-mesh gives the same particles by id on 1, 2 and 4 ranks (1e-12)"
  done
  # restarts: from the middle file (each rank reads its rows), on any rank count, to the same final particles
  for n in 1 2 4; do
    # shellcheck disable=SC2086
    gf_run "$n" particles ${systems[0]} -particles_interaction mesh -particles_init_file m0.np1/particles_00001.h5 -output_dir "r0.np$n" > /dev/null
    "$GF_H5DIFF" -d 1e-12 m0.np1/particles_00002.h5 "r0.np$n/particles_00002.h5" /particles /particles > /dev/null || { echo "FAIL: a particle-mesh run restarted on $n ranks differs from the run that went on"; exit 1; }
  done
  for n in 2 4; do
    "$GF_H5DIFF" -d 1e-12 r0.np1/particles_00002.h5 "r0.np$n/particles_00002.h5" /particles /particles > /dev/null || { echo "FAIL: a particle-mesh run restarted on $n ranks differs from the one restarted on 1 rank"; exit 1; }
  done
  echo "ok: a particle-mesh run restarted from its file on 1, 2 and 4 ranks ends where the run on 1 rank did, and the restarts agree (1e-12)"
  gf_run 1 particles -options_file "$problems/particles_ou_1d.yaml" -particles_n 3000 -output_dir ou > /dev/null
  gf_run 2 particles -options_file "$problems/particles_ou_1d.yaml" -particles_n 3000 -particles_init_file ou/particles_00005.h5 -output_dir ou.restart > /dev/null
  if [ -e ou.restart/particles_00004.h5 ] || [ ! -f ou.restart/particles_00005.h5 ]; then
    echo "FAIL: the restart's files do not start at the file's time"
    exit 1
  fi
  identical ou/particles_00010.h5 ou.restart/particles_00010.h5
  test "$(sed -n 2p ou.restart/particles.csv | cut -d, -f1,2)" = "500,0.5" || { echo "FAIL: the restart does not continue at step 500, t = 0.5"; exit 1; }
  echo "ok: Langevin particles restarted on 2 ranks from the 1-rank file at t = 0.5 end bit for bit where the run that went on did"
  printf 'x\n0.5\n9\n' > outside.csv
  for args in "-particles_n 100 -particles_init_file ou/particles_00005.h5:holds 3000 particles" "-particles_n 2 -particles_init_file outside.csv:row 1 (counting from 0) lies outside the box" "-particles_init_file missing.h5:missing.h5"; do
    set +e
    # shellcheck disable=SC2086
    gf_run 2 particles -options_file "$problems/particles_ou_1d.yaml" ${args%%:*} -output_dir bad > bad.log 2>&1
    status=$?
    set -e
    if [ $status -ne 2 ] || ! grep -qF -- "${args#*:}" bad.log; then
      echo "FAIL: $args -> status $status (want 2):"
      cat bad.log
      exit 1
    fi
    echo "ok: ${args%%:*} -> 2: $(grep -m 1 'gradflow: error' bad.log)"
  done
  ;;
bad)
  gf_run 1 run -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 64 -output_dir pde > /dev/null
  gf_run 1 particles -options_file "$problems/particles_ou_1d.yaml" -da_grid_x 64 -particles_n 100 -output_dir pde > /dev/null
  printf 'x,y\n1,2\n3,4\n' > two_columns_t1.csv
  printf 'x\n0.5\nnan\n' > nan_t1.csv
  printf '# nothing here\nx\n' > empty_t1.csv
  printf 'not a number file' > broken_t1.npy
  printf 'x\n0.5\n' > late_t0.55.csv
  mkdir -p emptydir
  failures=0
  expect() {
    local message=$1
    shift
    set +e
    gf_run 1 compare -compare_plot 0 -output_overwrite "$@" > out.log 2> err.log
    local got=$?
    set -e
    if [ "$got" -ne 2 ] || ! grep -qF -- "$message" err.log; then
      echo "FAIL: gradflow compare $* -> status $got (want 2), stderr:"
      cat err.log
      failures=$((failures + 1))
    else
      echo "ok: $* -> 2: $(head -n 1 err.log)"
    fi
  }
  expect "two_columns_t1.csv: has 2 columns (particles in 2D), but the PDE run is 1D" -pde pde -particles two_columns_t1.csv
  expect "row 2, column 1 is nan" -pde pde -particles nan_t1.csv
  expect "has no particles (no rows)" -pde pde -particles empty_t1.csv
  expect "broken_t1.npy" -pde pde -particles broken_t1.npy
  expect "missing_t1.csv: no such" -pde pde -particles missing_t1.csv
  expect "time 0.55 matches no snapshot of the PDE run pde" -pde pde -particles late_t0.55.csv
  expect "matches no snapshot" -pde pde -particles pde/particles_00010.h5 -particles_time 7
  expect "-particles_time has 2 times for 1 particle files" -pde pde -particles late_t0.55.csv -particles_time 1,2
  expect "emptydir has no particle files" -pde pde -particles emptydir
  expect "-pde nowhere: no such directory" -pde nowhere
  expect "-pde emptydir: the directory has no snapshots" -pde emptydir
  expect "gradflow compare needs -pde DIR" -particles pde
  expect "give either particle files to compare or counts to run, not both" -pde pde -particles pde -particle_counts 10
  expect "-compare_stationary needs -particle_replicas >= 2" -pde pde -particle_counts 10 -compare_stationary 0.5
  expect "-particle_counts 10,0: out of range (valid: an integer >= 1)" -pde pde -particle_counts 10,0
  expect "-compare_mmd_bandwidth 0: out of range (valid: > 0)" -pde pde -compare_mmd_bandwidth 0
  expect "-model porous_medium has no particle system" -pde pde -particle_counts 10 -model porous_medium -exact 0
  # an explicit step beyond its stability bound is an error (status 1), not particles folded back by the walls
  set +e
  gf_run 2 particles -model fokker_planck -potential quadratic -potential_stiffness 1000 -particles_dt 0.1 -output 0 > unstable.log 2>&1
  status=$?
  set -e
  if [ $status -ne 1 ] || ! grep -q "times the box (dt |v|): the step -particles_dt 0.1 is beyond the explicit scheme's stability bound" unstable.log || [ "$(grep -c 'gradflow: error' unstable.log)" -ne 1 ]; then
    echo "FAIL: an unstable particle step was not refused once with status 1:"
    cat unstable.log
    failures=$((failures + 1))
  else
    echo "ok: an unstable step -> 1: $(grep 'gradflow: error' unstable.log)"
  fi
  set +e
  gf_run 1 compare -pde pde -compare_plot 0 > first.log 2>&1
  gf_run 1 compare -pde pde -compare_plot 0 > again.log 2> err.log
  status=$?
  set -e
  if [ $status -ne 2 ] || ! grep -q "holds other results; add -output_overwrite" err.log; then
    echo "FAIL: a second comparison replaced compare.csv without -output_overwrite"
    failures=$((failures + 1))
  fi
  test "$failures" -eq 0
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac
