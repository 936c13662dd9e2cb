# bad_input.sh: every bad input of tests/integration/bad_inputs.txt fails before the first step with exit
# status 2 and one message naming the option or file and the value, no PETSc traceback, and nothing of
# the earlier runs in old/ and old_study/ (each case writes there with -output_overwrite) removed or
# changed. Then: an unwritable output directory, an existing one, and a Newton failure (status 1).
source "$(dirname "$0")/common.sh"

# fixtures: earlier runs of every kind (PDE, particles, comparison, study), bad snapshots and files
gf_run 1 run -da_grid_x 64 -ts_max_time 0.2 -output_interval 0.1 -output_dir old > /dev/null
gf_run 1 particles -da_grid_x 64 -ts_max_time 0.2 -output_interval 0.1 -particles_n 100 -output_dir old > /dev/null
gf_run 1 compare -pde old -compare_plot 0 > /dev/null
gf_run 1 study -study_levels 2 -study_coarsest 8 -output_dir old_study -study_plot 0 > /dev/null
gf_run 1 run -model porous_medium -init barenblatt -init_time 1 -ts_max_time 1.05 -ts_dt 0.05 -da_grid_x 64 -output_interval 0 -output_dir pm > /dev/null
cp pm/snap_00001.h5 pm.h5
mkdir -p existing empty_dir mesh_dir.yaml dir.yaml && touch existing/notes.txt plain_file
"$GF_TOOL" corrupt old/snap_00001.h5 nan.h5 nan 10
"$GF_TOOL" corrupt old/snap_00001.h5 negative.h5 -0.5 3
"$GF_TOOL" corrupt old/snap_00001.h5 zero.h5 0 -1
cp old/snap_00001.h5 time_nan.h5 && "$GF_RUNDIR" attr time_nan.h5 /density time double nan
cp old/snap_00001.h5 step_negative.h5 && "$GF_RUNDIR" attr step_negative.h5 /density step llong -1
cp old/snap_00001.h5 cells_mismatch.h5 && "$GF_RUNDIR" attr cells_mismatch.h5 / cells llong 128
cp old/snap_00001.h5 cells_8001.h5 && "$GF_RUNDIR" attr cells_8001.h5 / cells llong "$(seq -s, 1 8001)"
cp old/snap_00001.h5 domain_inf.h5 && "$GF_RUNDIR" attr domain_inf.h5 / domain_upper double inf
cp old/snap_00001.h5 dim_2.h5 && "$GF_RUNDIR" attr dim_2.h5 / dim llong 2
head -c 2000 old/snap_00001.h5 > truncated.h5
cp old/snap_00001.h5 ff120.h5 && printf '\377\377\377\377\377\377\377\377' | dd of=ff120.h5 bs=1 seek=120 conv=notrunc status=none
echo "not an HDF5 file" > text.h5
printf 'dim: 1\nda_grid_x: [16\n' > syntax.yaml
printf -- '- model\n- svgd\n' > list.yaml
printf 'model: fokker_planck\0\n' > binary.yaml
printf 'model: fokker_planck\ndim:\n' > nokey.yaml
printf 'init:\n  mean: 1\n' > nested.yaml
printf 'dim: 1\nmodel: fokker_planck\ndim: 2\n' > twice.yaml
printf '<<: {dim: 1}\n' > merge.yaml
printf -- '-model: svgd\n' > dash.yaml
printf 'dim: 1\n---\ndim: 2\n' > documents.yaml
head -c 1200000 /dev/zero | tr '\0' '#' > huge.yaml
printf -- '-dim 1\nmodel svgd\n' > plain.txt
printf 'modle: svgd\n' > unknownkey.yaml
printf 'domain_lower: []\n' > empty_list.yaml
printf 'dim: 1\nda_grid_x: {\n' > mesh_syntax.yaml
printf 'domain:\n  lower: 1\n' > mesh_nested.yaml
printf 'dim: 1\nmodel: svgd\n' > mesh_model.yaml
"$GF_TOOL" export old/particles_00001.h5 cloud.csv
printf 'x\n0.5\n1e308\n' > outside.csv
printf 'x1,x2,y\n0.1,0.2,0.3\n0.4,0.5,0.6\n' > nn_wide.csv
printf 'x,y\n0.1,0.2\nnan,0.6\n' > nn_nan.csv
printf 'x\n0.5\n0.2\0 7\n0.1\n' > nul.csv
printf -v LONG_PATH '%05000d' 0
( cd old && find . -type f | sort | xargs md5sum ) > old.md5
( cd old_study && find . -type f | sort | xargs md5sum ) > old_study.md5

# case N LINE: run one case of the table; print "ok: ..." or "FAIL: ..." (with stderr)
case_run() {
  local number=$1 line=$2 command message args ranks=1 dir status
  command=$(echo "${line%%|*}" | xargs)
  message=$(echo "$line" | cut -d'|' -f2 | sed 's/^ *//; s/ *$//')
  args=$(echo "$line" | cut -d'|' -f3- | sed 's/^ *//')
  if [[ $args == *"-ranks "* ]]; then
    ranks=$(echo "$args" | sed 's/.*-ranks \([0-9]*\).*/\1/')
    args=$(echo "$args" | sed 's/-ranks [0-9]*//')
  fi
  args=${args//LONG_PATH/$LONG_PATH}
  dir=old
  [ "$command" = study ] && dir=old_study
  [[ $args == *"-output_dir"* ]] && dir=""
  set +e
  # shellcheck disable=SC2086
  gf_run "$ranks" "$command" $args ${dir:+-output_dir $dir -output_overwrite} > "case$number.out" 2> "case$number.err"
  status=$?
  set -e
  if [ $status -ne 2 ] || ! grep -qF -- "$message" "case$number.err" || [ "$(grep -c 'gradflow: error' "case$number.err")" -ne 1 ] || grep -q "PETSC ERROR" "case$number.err"; then
    echo "FAIL: gradflow $command $args -> status $status (want 2 and one message with: $message)"
    sed 's/^/    /' "case$number.err" | head -n 5
  else
    echo "ok: gradflow $command ${args:0:80} -> 2: $(grep 'gradflow: error' "case$number.err" | cut -c 1-160)"
  fi
}
export -f case_run gf_run
export GF_BIN GF_MPIEXEC LONG_PATH
grep -v '^#' "$GF_SRC/tests/integration/bad_inputs.txt" | grep -v '^ *$' | nl -ba -w1 -s$'\t' > cases.txt
total=$(wc -l < cases.txt)
while IFS=$'\t' read -r number line; do printf '%s\0%s\0' "$number" "$line"; done < cases.txt | xargs -0 -n 2 -P 2 bash -c 'case_run "$0" "$1"' > results.txt
failures=$(grep -c '^FAIL' results.txt || true)
cat results.txt
( cd old && find . -type f | sort | xargs md5sum ) | diff old.md5 - || { echo "FAIL: a bad input changed the earlier runs in old/"; failures=$((failures + 1)); }
( cd old_study && find . -type f | sort | xargs md5sum ) | diff old_study.md5 - || { echo "FAIL: a bad input changed the earlier study in old_study/"; failures=$((failures + 1)); }
echo "$((total - failures)) of $total bad inputs refused with status 2 and a message; old/ ($(wc -l < old.md5) files) and old_study/ unchanged"

# an output directory that cannot be written, and one that exists, are refused before the first step
set +e
gf_run 2 run -output_dir plain_file/run > out.log 2> err.log
status=$?
set -e
if [ $status -ne 2 ] || ! grep -qF "cannot create the directory" err.log; then echo "FAIL: unwritable output directory -> $status"; cat err.log; failures=$((failures + 1)); else echo "ok: unwritable output directory -> 2"; fi
before=$(md5sum old/snap_00001.h5)
set +e
gf_run 2 run -da_grid_x 64 -ts_max_time 0.05 -output_dir old > out.log 2> err.log
status=$?
set -e
if [ $status -ne 2 ] || ! grep -qF "the directory exists and holds other results; add -output_overwrite" err.log || [ "$before" != "$(md5sum old/snap_00001.h5)" ]; then
  echo "FAIL: an existing run directory was not protected ($status)"
  cat err.log
  failures=$((failures + 1))
else
  echo "ok: existing output directory refused, its snapshot untouched"
fi
# Newton that cannot converge: a clear message, exit status 1, and the last good state kept as a snapshot
set +e
gf_run 2 run -model porous_medium -dim 2 -da_grid_x 32 -da_grid_y 32 -init barenblatt -init_time 1 -ts_max_time 2 -ts_dt 0.5 -snes_max_it 1 -max_step_retries 1 -output_interval 0.5 -output_dir newton > out.log 2> err.log
status=$?
set -e
if [ $status -ne 1 ] || ! grep -qF "failed 2 times (Newton did not converge or rho became negative)" err.log || ! grep -qF "is saved as newton/snap_00003.h5" err.log || [ ! -f newton/snap_00003.h5 ]; then
  echo "FAIL: Newton divergence -> $status"
  cat err.log
  failures=$((failures + 1))
else
  echo "ok: Newton divergence -> 1: $(head -n 1 err.log)"
  h5dump -a /density/time newton/snap_00003.h5 | grep -q "(0): 1" || { echo "FAIL: the saved state is not the last good one (t = 1)"; failures=$((failures + 1)); }
fi
# ... and in a directory that holds an earlier run, which a run failing at its first step leaves as it was
before=$(cd old && find . -type f | sort | xargs md5sum | md5sum)
set +e
gf_run 1 run -da_grid_x 64 -model porous_medium -init barenblatt -init_time 1 -ts_max_time 2 -ts_dt 0.5 -snes_max_it 1 -max_step_retries 1 -output_dir old -output_overwrite > out.log 2> err.log
status=$?
set -e
if [ $status -ne 1 ] || ! grep -qF "no step succeeded, so the earlier run in old is kept as it was" err.log || [ "$before" != "$(cd old && find . -type f | sort | xargs md5sum | md5sum)" ]; then
  echo "FAIL: a run failing at its first step changed the earlier run ($status)"
  cat err.log
  failures=$((failures + 1))
else
  echo "ok: a run failing at its first step -> 1, the earlier run kept"
fi
[ "$failures" -eq 0 ] || { echo "$failures bad-input checks failed"; exit 1; }
