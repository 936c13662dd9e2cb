# refactor.sh: every problem of problems/ (on a small grid) gives on 1 and 2 ranks the same final density as
# the reference (tests/integration/reference/refactor/NAME.npN.h5), to 1e-13 relative to the largest value:
# a refactor changes no result. Made before the architecture change; made again when the Scharfetter-Gummel
# flux gained its curvature factor and -ts_type rk came to mean ssprk43 everywhere (with -fv_sg_curvature 0
# every problem but study_porous_medium_2d, explicit rk on an implicit-default model, matched the earlier
# references to 1e-13). jko_aggregation_2d made again when the primal-dual interaction loop became inexact
# (-jko_pd_inexact: 1.2e-5 of the peak from the old one, at the solver tolerance 1e-5).
#   refactor.sh --generate DIR   writes the references into DIR instead (run on the code before a refactor)
source "$(dirname "$0")/common.sh"
generate=${1:-}
out=${2:-$GF_SRC/tests/integration/reference/refactor}
declare -A small=(
  [aggregation_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 1"
  [chaos_mckean_vlasov_1d]="-da_grid_x 128"
  [fokker_planck_1d]="-da_grid_x 128"
  [fokker_planck_2d]="-da_grid_x 40 -da_grid_y 36 -ts_max_time 0.6"
  [fokker_planck_3d]="-da_grid_x 16 -da_grid_y 14 -da_grid_z 12 -ts_max_time 0.3"
  [jko_aggregation_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 0.3"
  [jko_fokker_planck_1d]="-da_grid_x 256"
  [jko_porous_medium_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 1.25e-3"
  [keller_segel_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 0.2"
  [keller_segel_blowup_2d]="-da_grid_x 33 -da_grid_y 33"
  [mckean_vlasov_1d]="-da_grid_x 128"
  [nn_linear_2d]="-da_grid_x 48 -da_grid_y 48"
  [nn_noisy_1d]="-da_grid_x 128 -ts_max_time 2"
  [nn_relu_teacher_2d]="-da_grid_x 24 -da_grid_y 24 -ts_max_time 20"
  [nn_width_sweep_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 0.5"
  [particles_ou_1d]="-da_grid_x 128"
  [particles_svgd_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 1"
  [porous_medium_1d]="-da_grid_x 128"
  [porous_medium_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 1.2"
  [porous_medium_confined_2d]="-da_grid_x 32 -da_grid_y 32 -ts_max_time 1"
  [study_aggregation_2d]="-da_grid_x 32 -da_grid_y 32"
  [study_fokker_planck_1d]="-da_grid_x 128"
  [study_mckean_vlasov_1d]="-da_grid_x 128"
  [study_porous_medium_2d]="-da_grid_x 32 -da_grid_y 32"
  [study_svgd_1d]="-da_grid_x 128"
  [svgd_1d]="-da_grid_x 128 -ts_max_time 1"
  [svgd_2d]="-da_grid_x 24 -da_grid_y 32 -ts_max_time 1"
)
for file in "$GF_SRC"/problems/*.yaml; do
  name=$(basename "$file" .yaml)
  [ -n "${small[$name]+set}" ] || { echo "FAIL: problems/$name.yaml has no small grid in refactor.sh"; exit 1; }
  for n in 1 2; do
    # shellcheck disable=SC2086
    gf_run $n run -options_file "$file" ${small[$name]} -output_interval 0 -summary 0 -output_dir "$name.np$n" > /dev/null
    last=$(ls "$name.np$n"/snap_*.h5 | tail -n 1)
    if [ "$generate" = --generate ]; then
      mkdir -p "$out" && cp "$last" "$out/$name.np$n.h5"
    else
      "$GF_TOOL" diff "$out/$name.np$n.h5" "$last" 1e-13 relative || exit 1
    fi
  done
done
