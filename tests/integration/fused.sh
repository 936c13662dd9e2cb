# fused.sh: the fused explicit scheme (the default for Fokker-Planck in a static potential; in 2D
# and 3D inside walls with ranks along the last axis only, the four stages in one pass, each rank
# sweeping its neighbours' 4 nearest layers too; else in 2D two stages per pass, the first stage's
# values on rank-boundary ghost layers taken from the neighbours) gives PETSc's TSRK ssprk43 result to
# round-off, on 1, 2 and 4 ranks, with walls and periodic in 1D, 2D and 3D; and 2 and 4 ranks
# give the 1-rank result to round-off.
source "$(dirname "$0")/common.sh"
grids=("-dim 1 -da_grid_x 64 -init_mean 0.5" "-dim 2 -da_grid_x 37 -da_grid_y 30 -init_mean 0.5,0.3" "-dim 3 -da_grid_x 12 -da_grid_y 10 -da_grid_z 9 -init_mean 0.5,0.3,-0.2")
for bc in noflux periodic; do
  for g in 0 1 2; do
    options="${grids[$g]} -bc $bc -potential double_well -init_variance 0.4 -ts_max_time 0.3 -output_interval 0"
    # shellcheck disable=SC2086
    gf_run 1 run $options -ts_type rk -output_dir "rk_$bc$g" > /dev/null
    for n in 1 2 4; do
      # shellcheck disable=SC2086
      gf_run $n run $options -output_dir "fused_$bc${g}_$n" > /dev/null
      same_density "rk_$bc$g/snap_00001.h5" "fused_$bc${g}_$n/snap_00001.h5" 1e-13
    done
  done
done
# the one-pass chain across ranks split along the last axis (grids longest along it: 2 and 3 ranks,
# 18 or 19 and 12 or 13 rows each in 2D, 7 and 4 or 5 planes in 3D), and its fallback where a rank
# holds fewer than 4 layers (10 on 3 ranks)
for g in "-dim 2 -da_grid_x 30 -da_grid_y 37 -init_mean 0.5,0.3" "-dim 2 -da_grid_x 8 -da_grid_y 10 -init_mean 0.5,0.3" \
  "-dim 3 -da_grid_x 8 -da_grid_y 9 -da_grid_z 14 -init_mean 0.5,0.3,-0.2" "-dim 3 -da_grid_x 8 -da_grid_y 9 -da_grid_z 10 -init_mean 0.5,0.3,-0.2"; do
  options="$g -bc noflux -potential double_well -init_variance 0.4 -ts_max_time 0.3 -output_interval 0"
  name=$(echo "$g" | tr -d ' -')
  # shellcheck disable=SC2086
  gf_run 1 run $options -ts_type rk -output_dir "rk_$name" > /dev/null
  for n in 2 3; do
    # shellcheck disable=SC2086
    gf_run $n run $options -output_dir "chain_${n}_$name" > /dev/null
    same_density "rk_$name/snap_00001.h5" "chain_${n}_$name/snap_00001.h5" 1e-13
  done
done
echo "ok: the fused scheme equals TSRK ssprk43 to 1e-13 on 1, 2 and 4 ranks, walls and periodic, 1D to 3D"
