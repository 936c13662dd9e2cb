# restart.sh: a run restarted from a snapshot, on another rank count, continues the same run:
#   - its final density equals the uninterrupted run's to 1e-12 (1D, 2D and 3D), for every kind of
#     time scheme: explicit SSP-RK3, fused and TSRK (bitwise), BDF2 (the multistep history is in the snapshot),
#     adaptive backward Euler (the controller's next step is in the snapshot) and IMEX;
#   - restarted in place (-init_file DIR/snap_K.h5 -output_dir DIR) it keeps the earlier snapshots
#     untouched, continues their numbering, keeps diagnostics.csv's rows up to the restart (a row cut
#     by a kill dropped) and lists every snapshot in run.xdmf.
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

# every kind of time scheme, uninterrupted on 1 rank and restarted on 2 from a snapshot in the middle
schemes=(
  "explicit|-dim 2 -da_grid_x 24 -da_grid_y 20 -potential double_well -ts_max_time 0.5 -output_interval 0.1|snap_00002|snap_00005|0"
  "explicit_rk|-dim 2 -da_grid_x 24 -da_grid_y 20 -potential double_well -ts_max_time 0.5 -output_interval 0.1 -ts_type rk|snap_00002|snap_00005|0"
  "bdf2|-model porous_medium -da_grid_x 64 -init barenblatt -init_time 1 -ts_max_time 1.5 -ts_type bdf -ts_bdf_order 2 -ts_dt 0.01 -output_interval 0.1|snap_00012|snap_00015|1e-12"
  "beuler_adaptive|-model porous_medium -da_grid_x 64 -init barenblatt -init_time 1 -ts_max_time 1.5 -output_interval 0.1|snap_00012|snap_00015|1e-12"
  "imex|-model mckean_vlasov -interaction quadratic -diffusion 0.5 -da_grid_x 64 -ts_type arkimex -ts_max_time 0.5 -output_interval 0.1|snap_00002|snap_00005|1e-12"
)
for entry in "${schemes[@]}"; do
  IFS='|' read -r name options from last tolerance <<< "$entry"
  # shellcheck disable=SC2086
  gf_run 1 run $options -output_dir "$name" > /dev/null
  # shellcheck disable=SC2086
  gf_run 2 run $options -init file -init_file "$name/$from.h5" -output_dir "${name}_restart" > /dev/null
  same_density "$name/$last.h5" "${name}_restart/$last.h5" "$tolerance"
done
h5dump -a /density/history_length bdf2/snap_00012.h5 | grep -q "(0): 2" || { echo "FAIL: the BDF2 snapshot does not store two earlier solutions"; exit 1; }

# in place: a run stopped by -ts_max_steps (its last snapshot mid-interval), a diagnostics row cut as by a kill, then continued
inplace="-potential quadratic -da_grid_x 64 -ts_max_time 0.5 -output_interval 0.1"
# shellcheck disable=SC2086
gf_run 1 run $inplace -output_dir whole > /dev/null
# shellcheck disable=SC2086
gf_run 1 run $inplace -ts_max_steps 17 -output_dir cut > /dev/null
ls cut/snap_*.h5 > before.txt
test "$(wc -l < before.txt)" -eq 4 || { echo "FAIL: the stopped run should hold 4 snapshots"; ls cut; exit 1; }
md5sum cut/snap_0000[0-2].h5 > kept.md5
printf '18,0.2571' >> cut/diagnostics.csv
# shellcheck disable=SC2086
gf_run 2 run $inplace -init_file cut/snap_00003.h5 -output_dir cut > /dev/null
md5sum -c --quiet kept.md5 || { echo "FAIL: restarting in place changed an earlier snapshot"; exit 1; }
test -f cut/snap_00006.h5 && test ! -e cut/snap_00007.h5 || { echo "FAIL: the continued run does not number its snapshots on from snap_00003"; ls cut; exit 1; }
same_density whole/snap_00005.h5 cut/snap_00006.h5 0
"$GF_TOOL" check cut
steps=$(awk -F, 'NR > 1 { print $1 }' cut/diagnostics.csv | tr '\n' ' ')
expected=$(awk -F, 'NR > 1 { print $1 }' whole/diagnostics.csv | tr '\n' ' ')
[ "$steps" = "$expected" ] || { echo "FAIL: diagnostics.csv steps after the restart in place: $steps (want $expected)"; exit 1; }
for k in 0 1 2 3 4 5 6; do grep -q "snap_0000$k.h5:/density" cut/run.xdmf || { echo "FAIL: run.xdmf does not list snap_0000$k.h5"; exit 1; }; done
echo "ok: restart in place keeps snap_00000-00002, continues with snap_00004-00006, drops the cut row, equals the uninterrupted run bitwise"

# in place from a snapshot that later ones follow: refused without -output_overwrite, which then replaces only the later ones
md5sum whole/snap_0000[0-2].h5 > whole.md5
set +e
# shellcheck disable=SC2086
gf_run 1 run $inplace -init_file whole/snap_00002.h5 -output_dir whole > out.log 2> err.log
status=$?
set -e
[ $status -eq 2 ] && grep -q "holds other results; add -output_overwrite" err.log && md5sum -c --quiet whole.md5 || { echo "FAIL: continuing in place over later snapshots was not refused ($status)"; cat err.log; exit 1; }
# shellcheck disable=SC2086
gf_run 1 run $inplace -init_file whole/snap_00002.h5 -output_dir whole -output_overwrite > /dev/null
md5sum -c --quiet whole.md5 && test -f whole/snap_00005.h5 || { echo "FAIL: -output_overwrite in place did not keep the snapshots before the restart"; exit 1; }
echo "ok: continuing in place over later snapshots needs -output_overwrite, which keeps the earlier ones"
