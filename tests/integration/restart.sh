# restart.sh: a run restarted from a snapshot, on another rank count, continues the same run:
# its final density equals the uninterrupted run's to 1e-12 (1D, 2D and 3D).
source "$(dirname "$0")/common.sh"
common="-potential quadratic -init_mean 0.5 -init_variance 0.4 -domain_lower -4 -domain_upper 4 -ts_max_time 0.4 -output_interval 0.1"
grids=("-dim 1 -da_grid_x 96" "-dim 2 -da_grid_x 30 -da_grid_y 24" "-dim 3 -da_grid_x 12 -da_grid_y 10 -da_grid_z 8")
for g in 0 1 2; do
  # shellcheck disable=SC2086
  gf_run 2 run $common ${grids[$g]} -output_dir "full$g" > /dev/null
  # shellcheck disable=SC2086
  gf_run 3 run $common ${grids[$g]} -init file -init_file "full$g/snap_00002.h5" -output_dir "restart$g" > /dev/null
  test -f "restart$g/snap_00002.h5" || { echo "FAIL: the restarted run does not continue the snapshot numbering"; exit 1; }
  "$GF_TOOL" check "restart$g"
  same_density "full$g/snap_00004.h5" "restart$g/snap_00004.h5"
done
