# disk.sh: a full disk during a run: a clear message, exit status 2, no temporary file left, the
# last good snapshot named and intact, the directory in a state a restart can continue from. Two
# ways to fill a small tmpfs (mounting it needs root; elsewhere the test says so and skips):
# bytes (refused before the snapshot is written, from the free space) and inodes (the HDF5 file
# cannot be created: the library's failure path).
source "$(dirname "$0")/common.sh"
mkdir -p bytes inodes
if ! mount -t tmpfs -o size=400k tmpfs bytes 2> /dev/null; then
  echo "skip: mounting a small tmpfs needs root"
  exit 0
fi
trap 'umount -l bytes inodes 2> /dev/null || true' EXIT
mount -t tmpfs -o size=10m,nr_inodes=12 tmpfs inodes
options="-dim 2 -da_grid_x 64 -da_grid_y 64 -potential quadratic -ts_max_time 1 -output_interval 0.05"
for fs in bytes inodes; do
  set +e
  # shellcheck disable=SC2086
  gf_run 1 run $options -output_dir $fs/run > $fs.log 2> $fs.err
  status=$?
  set -e
  cat $fs.err
  [ $status -eq 2 ] || { echo "FAIL: a full disk ($fs) -> status $status (want 2)"; exit 1; }
  grep -q "the last good snapshot is snap_" $fs.err || { echo "FAIL: the message does not name the last good snapshot"; exit 1; }
  [ "$(grep -c 'gradflow: error' $fs.err)" -eq 1 ] || { echo "FAIL: not one message"; exit 1; }
  ls $fs/run/*.tmp 2> /dev/null && { echo "FAIL: a temporary file is left in $fs/run"; exit 1; }
  "$GF_RUNDIR" verify $fs/run
  last=$(sed -n 's/.*the last good snapshot is \(snap_[0-9]*\.h5\).*/\1/p' $fs.err)
  test -f "$fs/run/$last" || { echo "FAIL: the last good snapshot $last is not there"; exit 1; }
  echo "ok: a full disk ($fs): status 2, $last kept, no temporary file"
done
