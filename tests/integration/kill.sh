# kill.sh: kill -9 at 20 random moments of a run with frequent output, restarted in place after each
# kill as a user would (from its newest snapshot, or from scratch when it has none): after every kill
# each snapshot opens with its full, finite data, run.xdmf is complete and lists the snapshots there,
# diagnostics.csv has only whole rows; MPI-IO lock files left by a kill do not stop the resume;
# the run continued to its end equals the uninterrupted one bitwise.
source "$(dirname "$0")/common.sh"
# a run of about 6 s on this machine: 20 kills 0.3-0.6 s into each resume land before its end
options="-dim 2 -da_grid_x 64 -da_grid_y 64 -potential double_well -ts_max_time 40 -output_interval 0.1 -progress 0 -summary 0"
# shellcheck disable=SC2086
"$GF_BIN" run $options -output_dir whole
RANDOM=20261202
# resume: the command line that continues the run in directory run (in place), or starts it
resume() {
  local newest
  newest=$(ls run/snap_*.h5 2> /dev/null | tail -n 1)
  if [ -n "$newest" ]; then echo "-init_file $newest -output_dir run"; else echo "-output_dir run"; fi
}
for kill in $(seq 1 20); do
  delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.3 + 0.3 * r / 32767 }')
  # shellcheck disable=SC2086,SC2046
  "$GF_BIN" run $options $(resume) > /dev/null 2> run.err &
  pid=$!
  sleep "$delay"
  kill -9 $pid 2> /dev/null || true
  wait $pid 2> /dev/null || true
  if grep -q "gradflow: error" run.err; then
    echo "FAIL: resuming after kill $kill failed:"
    cat run.err
    exit 1
  fi
  echo -n "kill $kill after ${delay} s: "
  "$GF_RUNDIR" verify run
done
# what Open MPI's MPI-IO leaves beside a file it had open when killed (one being read, one being
# written) is scratch: the resumed run starts and removes it
newest=$(ls run/snap_*.h5 | tail -n 1)
touch "$newest-631111681-18778.lock" "$newest.tmp-631111681-18778.lock" "$newest.tmp.locktest.0"
# shellcheck disable=SC2086,SC2046
"$GF_BIN" run $options $(resume) > /dev/null
"$GF_RUNDIR" verify run
if ls run/*lock* > /dev/null 2>&1; then
  echo "FAIL: MPI-IO lock files left in the run directory:"
  ls run/*lock*
  exit 1
fi
same_density whole/snap_00400.h5 run/snap_00400.h5 0
steps=$(awk -F, 'NR > 1 { print $1 }' run/diagnostics.csv | tr '\n' ' ')
expected=$(awk -F, 'NR > 1 { print $1 }' whole/diagnostics.csv | tr '\n' ' ')
[ "$steps" = "$expected" ] || { echo "FAIL: the resumed run's diagnostics.csv does not have one row per step of the uninterrupted run"; exit 1; }
echo "ok: 20 kills, resumed each time; the final snapshot equals the uninterrupted run's bitwise, diagnostics.csv has one row per step"
