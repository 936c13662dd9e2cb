# fuzz.sh: a fixed-seed corpus of mutated input files (gf_mutate: damaged bytes, rewritten HDF5 objects,
# bad text, NPY headers, options and mesh files) fed to the reader each one targets: gradflow run
# -init_file, compare -pde, compare -particles, run -options_file and -mesh. For every file: no crash and
# no hang (exit status 0 or 2 within 30 s); on 2 "gradflow: error:" on stderr naming the file; on 0 a
# sound result (compare.csv and diagnostics.csv all finite; a snapshot a run started from holds a finite,
# nonnegative density of positive mass); and what gf_mutate says a file must give (0 or 2), it gives.
source "$(dirname "$0")/common.sh"
GF_MUTATE=${GF_MUTATE:-$(dirname "$GF_TOOL")/gf_mutate}
seed=${1:-20240601}

# the seeds: short 1D and 2D runs with their particles at t = 0.1, and the 1D and 2D particles as a user's CSV and NPY files
grid2d="-dim 2 -da_grid_x 12 -da_grid_y 10"
gf_run 1 run -da_grid_x 32 -ts_max_time 0.2 -output_interval 0.1 -output_dir seed1d > /dev/null
gf_run 1 particles -da_grid_x 32 -ts_max_time 0.2 -output_interval 0.1 -particles_n 200 -output_dir seed1d > /dev/null
# shellcheck disable=SC2086
gf_run 1 run $grid2d -ts_max_time 0.2 -output_interval 0.1 -output_dir seed2d > /dev/null
# shellcheck disable=SC2086
gf_run 1 particles $grid2d -ts_max_time 0.2 -output_interval 0.1 -particles_n 200 -output_dir seed2d > /dev/null
mkdir seeds
for d in 1d 2d; do
  cp "seed$d/snap_00001.h5" "seeds/snap$d.h5"
  cp "seed$d/particles_00001.h5" "seeds/particles$d.h5"
  "$GF_TOOL" export "seed$d/particles_00001.h5" "seeds/cloud$d.csv"
  "$GF_TOOL" export "seed$d/particles_00001.h5" "seeds/cloud$d.npy"
done
"$GF_MUTATE" "$seed" seeds corpus
"$GF_MUTATE" "$seed" seeds again > /dev/null
if ! diff -r -q corpus again > /dev/null; then
  echo "FAIL: gf_mutate $seed does not write the same corpus twice"
  exit 1
fi
rm -rf again

# attack ID READER EXPECT FILE: gradflow's reader READER on corpus/FILE; writes corpus/ID/verdict ("ok STATUS" or "FAIL: why").
# Single-rank runs skip the launcher's daemon (an isolated singleton, no shared memory; its session directory
# its own, as all isolated singletons share one job id): 0.1 s instead of 0.45 s each, two at a time.
attack() {
  local id=$1 reader=$2 expect=$3 file=$4
  local dir=corpus/$id path=corpus/$4 status verdict="" csv named
  case $reader in
  init1d) set -- run -da_grid_x 32 -ts_max_time 0.12 -init_file "$path" ;;
  init2d) set -- run -dim 2 -da_grid_x 12 -da_grid_y 10 -ts_max_time 0.12 -init_file "$path" ;;
  pde1d) set -- compare -pde "$dir" -particles seeds/particles1d.h5 -compare_plot 0 ;;
  pde2d) set -- compare -pde "$dir" -particles seeds/particles2d.h5 -compare_plot 0 ;;
  particles1d) set -- compare -pde seed1d -particles "$path" -compare_plot 0 ;;
  particles2d) set -- compare -pde seed2d -particles "$path" -compare_plot 0 ;;
  options) set -- run -options_file "$path" ;;
  mesh) set -- run -mesh "$path" -potential quadratic -ts_max_time 0.05 -output_interval 0.05 ;;
  esac
  OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self OMPI_MCA_orte_tmpdir_base="$PWD/$dir" timeout -k 5 30 "$GF_BIN" "$@" -output_dir "$dir/out" -progress 0 > "$dir/stdout" 2> "$dir/stderr" < /dev/null
  status=$?
  if [ $status -eq 124 ]; then
    verdict="FAIL: a hang (killed after 30 s)"
  elif [ $status -gt 128 ]; then
    verdict="FAIL: killed by signal $((status - 128))"
  elif [ $status -ne 0 ] && [ $status -ne 2 ]; then
    verdict="FAIL: exit status $status"
  elif [ "$expect" != "*" ] && [ "$expect" != $status ]; then
    verdict="FAIL: exit status $status, but this file must give $expect"
  elif [ $status -eq 2 ]; then
    named=$(grep -c -F -e "$path" -e "-pde $dir:" -e "PDE run $dir," "$dir/stderr")
    case $reader in options | mesh) named=$((named + $(grep -c -E -e "^gradflow: error: (option )?-[^ ]+ " "$dir/stderr"))) ;; esac
    if ! grep -q "^gradflow: error: " "$dir/stderr"; then
      verdict="FAIL: exit status 2 without 'gradflow: error:' on stderr"
    elif [ "$(grep -c "gradflow: error" "$dir/stderr")" -ne 1 ]; then
      verdict="FAIL: the error was printed more than once"
    elif [ "$named" -eq 0 ]; then
      verdict="FAIL: the error does not name the file"
    fi
  else
    case $reader in
    init* | options | mesh) csv=$dir/out/diagnostics.csv ;;
    *) csv=$dir/out/compare.csv ;;
    esac
    if [ ! -s "$csv" ]; then
      verdict="FAIL: exit status 0 without $csv"
    elif ! awk -F, 'NR > 1 { for (i = 1; i <= NF; i++) if ($i !~ /^[-+]?[0-9.]+([eE][-+]?[0-9]+)?$/) bad = 1 } END { exit bad }' "$csv"; then
      verdict="FAIL: exit status 0, but $csv has a value that is empty, nan or inf: $(grep -i -m 1 -E ',,|,$|nan|inf' "$csv")"
    elif [[ $reader == init* ]] && ! "$GF_MUTATE" sound "$path" 2>> "$dir/stderr"; then
      verdict="FAIL: exit status 0 from a snapshot that is not sound"
    fi
  fi
  echo "${verdict:-ok $status}" > "$dir/verdict"
}
export -f attack
export GF_BIN GF_MUTATE

start=$(date +%s.%N)
awk '{ print $1, $2, $3, $4 }' corpus/manifest.txt | xargs -P 2 -L 1 bash -c 'attack "$@"' attack
files=$(wc -l < corpus/manifest.txt)
failures=0
while read -r id reader expect file what; do
  verdict=$(cat "corpus/$id/verdict")
  if [[ $verdict == FAIL* ]]; then
    failures=$((failures + 1))
    echo "$verdict"
    echo "  $reader $file ($what), stderr:"
    head -c 600 "corpus/$id/stderr" | sed 's/^/    /'
  fi
done < corpus/manifest.txt
ok0=$(cat corpus/*/verdict | grep -c '^ok 0$' || true)
ok2=$(cat corpus/*/verdict | grep -c '^ok 2$' || true)
echo "fuzz: $files files (seed $seed) in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s: $ok0 read (exit 0), $ok2 refused (exit 2), $failures failures"

# two of them on 2 ranks: rank 0 reads, both fail together with one message
for pick in "pde1d|snap1d.h5: 0xFF run at 120 (8)" "particles1d|a NUL byte and 0.25"; do
  read -r id reader expect file what < <(awk -v r="${pick%%|*}" -v w="${pick#*|}" '$2 == r && index($0, w) { print; exit }' corpus/manifest.txt)
  case $reader in
  pde1d) args="-pde corpus/$id -particles seeds/particles1d.h5" ;;
  *) args="-pde seed1d -particles corpus/$file" ;;
  esac
  set +e
  # shellcheck disable=SC2086
  timeout 60 "$GF_MPIEXEC" --oversubscribe -n 2 "$GF_BIN" compare $args -compare_plot 0 -output_dir "corpus/$id/out2" -progress 0 > /dev/null 2> "corpus/$id/stderr2"
  status=$?
  set -e
  if [ $status -ne 2 ] || [ "$(grep -c "^gradflow: error: .*corpus/$id" "corpus/$id/stderr2")" -ne 1 ]; then
    echo "FAIL: on 2 ranks, $reader $file ($what) -> status $status, stderr:"
    cat "corpus/$id/stderr2"
    failures=$((failures + 1))
  else
    echo "ok: on 2 ranks, $reader $file ($what) -> 2: $(head -n 1 "corpus/$id/stderr2")"
  fi
done
test $failures -eq 0
