# memcheck.sh: gradflow-asan (AddressSanitizer + UBSan, cmake/Memcheck.cmake) on a small case of every
# command on 1 and 2 ranks: run (explicit Fokker-Planck 1D, implicit porous medium 2D, McKean-Vlasov
# with an FFT convolution in 1D and 2D, SVGD, a restart, BDF2), study, particles (independent, direct
# pair sums, particle-mesh), compare (files and a sweep) and bad inputs. Each must exit with its
# expected status and print no sanitizer report: no memory error, no undefined behaviour, no leak
# outside lsan.supp.
source "$GF_SRC/tests/integration/common.sh"
memcheck_dir=$GF_SRC/tests/memcheck
# leaks: full stacks (fast unwinding stops at the first library built without frame pointers), so that
# lsan.supp matches Open MPI's own functions only; GF_ASAN_OPTIONS adds options (e.g. log_path=DIR/asan)
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=99:fast_unwind_on_malloc=0${GF_ASAN_OPTIONS:+:$GF_ASAN_OPTIONS}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$memcheck_dir/lsan.supp:print_suppressions=0
failures=0
echo "not an HDF5 file" > text.h5

# memcheck NAME STATUS N ARGS...: gradflow-asan ARGS on N ranks exits with STATUS and reports nothing
memcheck() {
  local name=$1 want=$2 n=$3 got
  shift 3
  set +e
  gf_run "$n" "$@" > "$name.np$n.out" 2> "$name.np$n.err"
  got=$?
  set -e
  if grep -qE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer" "$name.np$n.err" || [ "$got" -ne "$want" ]; then
    echo "FAIL: $name on $n ranks: gradflow $* -> status $got (want $want), stderr:"
    cat "$name.np$n.err"
    failures=$((failures + 1))
  else
    echo "ok: $name on $n ranks -> $got"
  fi
}

fp="-potential quadratic -init_mean 0.5 -init_variance 0.4 -domain_lower -4 -domain_upper 4"
pme="-model porous_medium -init barenblatt -init_time 1"
mv="-model mckean_vlasov -da_grid_x 64 -potential quadratic -interaction gaussian -ts_max_time 0.1 -output_interval 0.05"
ou="-options_file $GF_SRC/problems/particles_ou_1d.yaml -da_grid_x 64 -ts_max_time 0.2 -output_interval 0.1"
for n in 1 2; do
  # shellcheck disable=SC2086
  {
    memcheck fokker_planck_1d 0 $n run $fp -da_grid_x 64 -ts_max_time 0.1 -output_interval 0.05 -output_dir fp.np$n
    [ -f nan.h5 ] || "$GF_TOOL" corrupt fp.np1/snap_00001.h5 nan.h5 nan 10
    memcheck restart 0 $n run $fp -da_grid_x 64 -ts_max_time 0.1 -output_interval 0.05 -init file -init_file fp.np1/snap_00001.h5 -output_dir restart.np$n
    memcheck porous_medium_2d_implicit 0 $n run $pme -dim 2 -da_grid_x 16 -da_grid_y 16 -ts_max_time 1.1 -output_dir pme.np$n
    memcheck porous_medium_bdf2 0 $n run $pme -da_grid_x 64 -ts_max_time 1.05 -ts_type bdf -ts_bdf_order 2 -ts_dt 0.01 -output_dir bdf2.np$n
    memcheck mckean_vlasov_fft_1d 0 $n run -model mckean_vlasov -interaction gaussian -da_grid_x 64 -ts_max_time 0.05 -output_dir mv1.np$n
    memcheck mckean_vlasov_fft_2d 0 $n run -model mckean_vlasov -dim 2 -da_grid_x 16 -da_grid_y 16 -potential quadratic -interaction morse -ts_max_time 0.05 -output_dir mv2.np$n
    memcheck svgd_1d 0 $n run -model svgd -potential quadratic -da_grid_x 64 -ts_max_time 0.05 -output_dir svgd.np$n
    memcheck study 0 $n study -options_file "$GF_SRC/problems/study_fokker_planck_1d.yaml" -study_levels 3 -study_coarsest 8 -ts_max_time 0.1 -study_plot 0 -output_dir study.np$n
    memcheck pde_for_compare 0 $n run $ou -output_dir ou.np$n
    memcheck particles_independent 0 $n particles $ou -particles_n 200 -output_dir ou.np$n
    memcheck particles_pairs 0 $n particles $mv -particles_interaction direct -particles_n 200 -output_dir pairs.np$n
    memcheck particles_mesh 0 $n particles $mv -particles_interaction mesh -particles_n 500 -output_dir mesh.np$n
    memcheck compare_files 0 $n compare -pde ou.np$n -compare_plot 0
    memcheck compare_sweep 0 $n compare -pde ou.np$n -particle_counts 20,40 -particle_replicas 2 -compare_plot 0 -output_overwrite
    memcheck bad_init_file 2 $n run -da_grid_x 64 -init file -init_file nan.h5 -output_dir bad.np$n
    memcheck bad_option 2 $n run -da_grid_x 64 -no_such_option 1 -output_dir bad.np$n
    memcheck bad_particles_file 2 $n compare -pde ou.np$n -particles text.h5 -compare_plot 0
    memcheck bad_sweep_output 2 $n compare -pde ou.np$n -particle_counts 20,40 -particle_replicas 2 -compare_plot 0
  }
done
[ $failures -eq 0 ] || { echo "$failures memcheck runs failed"; exit 1; }
