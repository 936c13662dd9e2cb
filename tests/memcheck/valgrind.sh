# valgrind.sh: the gradflow binary (a Release build) under valgrind on small run, study, particles and
# compare cases (1 rank): 0 errors and no definitely or possibly lost block outside Open MPI's own
# start-up and shut-down (valgrind.supp). Prints, per case, the errors and the definitely lost bytes
# before the suppressions (lost + suppressed) and after them.
#   GF_BIN=build/gradflow [GF_WORK=/tmp/vg] [GF_SRC=.] [VALGRIND=valgrind] bash tests/memcheck/valgrind.sh
# (ctest runs it as integration.valgrind.) The sandbox's forked children (src/base/sandbox.c) are not
# checked: they exit with _exit, so the parent's live memory looks lost from them.
set -euo pipefail
: "${GF_BIN:?GF_BIN=path/to/gradflow}"
GF_SRC=${GF_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
GF_WORK=${GF_WORK:-$(mktemp -d)}
rm -rf "$GF_WORK"
mkdir -p "$GF_WORK"
cd "$GF_WORK"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
failures=0

# vg NAME ARGS...: gradflow ARGS (1 rank, a singleton) under valgrind; exit status 0 and no error
vg() {
  local name=$1 status lost suppressed errors
  shift
  set +e
  "${VALGRIND:-valgrind}" --leak-check=full --error-exitcode=9 --num-callers=50 --keep-debuginfo=yes --child-silent-after-fork=yes --suppressions="$GF_SRC/tests/memcheck/valgrind.supp" --log-file="$name.vg" "$GF_BIN" "$@" -progress 0 > "$name.out" 2> "$name.err"
  status=$?
  set -e
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$name.vg")
  lost=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$name.vg" | tr -d ,)
  suppressed=$(sed -n 's/.*suppressed: \([0-9,]*\) bytes.*/\1/p' "$name.vg" | tr -d ,)
  echo "$name: exit status $status, $errors errors, definitely lost ${lost:-0} bytes (before suppressions $((${lost:-0} + ${suppressed:-0})), suppressed ${suppressed:-0})"
  if [ "$status" -ne 0 ] || [ "$errors" != 0 ]; then
    echo "FAIL: gradflow $* under valgrind:"
    grep -v "^==[0-9]*== *$" "$name.vg" | sed -n '/ERROR SUMMARY/!p' | head -100
    cat "$name.err"
    failures=$((failures + 1))
  fi
}

ou="-options_file $GF_SRC/problems/particles_ou_1d.yaml -da_grid_x 64 -ts_max_time 0.2 -output_interval 0.1"
# shellcheck disable=SC2086
{
  vg run run $ou -output_dir ou
  vg study study -options_file "$GF_SRC/problems/study_fokker_planck_1d.yaml" -study_levels 3 -study_coarsest 8 -ts_max_time 0.1 -study_plot 0 -output_dir study
  vg particles particles $ou -particles_n 200 -output_dir ou
  vg compare compare -pde ou -compare_plot 0
  vg sweep compare -pde ou -particle_counts 20,40 -particle_replicas 2 -compare_plot 0 -output_overwrite
}
[ $failures -eq 0 ] || { echo "$failures valgrind runs failed"; exit 1; }
