# fused.sh: the fused explicit scheme (the default for Fokker-Planck in a static potential; in 2D two
# stages per pass, the first stage's values on rank-boundary ghost layers taken from the neighbours)
# gives PETSc's TSRK ssprk43 result to round-off, on 1, 2 and 4 ranks, with walls and periodic in 1D,
# 2D and 3D; and 2 and 4 ranks give the 1-rank result to round-off.
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
echo "ok: the fused scheme equals TSRK ssprk43 to 1e-13 on 1, 2 and 4 ranks, walls and periodic, 1D to 3D"
