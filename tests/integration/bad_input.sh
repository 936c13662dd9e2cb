# bad_input.sh: every bad input fails before the first step with exit status 2 and a message
# naming the option and the value; nothing of an existing run is lost.
source "$(dirname "$0")/common.sh"
failures=0

# expect STATUS 'MESSAGE' ARGS...: gradflow run ARGS exits with STATUS and prints MESSAGE on stderr
# (on $ranks ranks: 1 by default, the MPI start-up dominates the cost of these checks).
ranks=1
expect() {
  local status=$1 message=$2
  shift 2
  set +e
  gf_run $ranks run "$@" -output_dir bad_run > out.log 2> err.log
  local got=$?
  set -e
  if [ "$got" -ne "$status" ] || ! grep -qF -- "$message" err.log; then
    echo "FAIL: gradflow run $* -> status $got (want $status), stderr:"
    cat err.log
    failures=$((failures + 1))
  else
    echo "ok: $* -> $status: $(head -n 1 err.log)"
  fi
  if [ "$(grep -c 'gradflow: error' err.log)" -gt 1 ]; then
    echo "FAIL: the error was printed more than once"
    failures=$((failures + 1))
  fi
  rm -rf bad_run
}

gf_run 1 run -da_grid_x 64 -ts_max_time 0.05 -output_dir good > /dev/null
"$GF_TOOL" corrupt good/snap_00001.h5 nan.h5 nan 10
"$GF_TOOL" corrupt good/snap_00001.h5 negative.h5 -0.5 3
"$GF_TOOL" corrupt good/snap_00001.h5 zero.h5 0 -1
echo "not an HDF5 file" > text.h5
touch plain_file

expect 2 "-model heat: unknown model; valid are fokker_planck, porous_medium, mckean_vlasov, svgd" -model heat
expect 2 "-kernel rbf: valid are gaussian, imq, bilinear" -model svgd -potential quadratic -kernel rbf
expect 2 "-kernel_bandwidth 0: the bandwidth must be positive" -model svgd -potential quadratic -kernel_bandwidth 0
expect 2 "-kernel bilinear with -bc periodic" -model svgd -potential quadratic -kernel bilinear -bc periodic
expect 2 "-potential none: the target exp(-V) keeps 0.0156 of its mass in the cells along the walls" -model svgd
expect 2 "-potential_params w = 1.5: the gaussian_mixture weight must be in (0, 1)" -model svgd -potential gaussian_mixture -potential_params 0.5,1.5
expect 2 "-interaction coulomb: unknown interaction kernel; valid are" -model mckean_vlasov -interaction coulomb
expect 2 "attractive_repulsive needs a > b" -model mckean_vlasov -interaction attractive_repulsive -interaction_params 1,2
expect 2 "the repulsion r^b/b is not integrable at 0 in 2D: attractive_repulsive needs b > -2" -model mckean_vlasov -dim 2 -interaction attractive_repulsive -interaction_params 2,-2.5
expect 2 "-interaction newtonian with -bc periodic: the kernel does not decay at infinity" -model mckean_vlasov -interaction newtonian -bc periodic
expect 2 "-diffusion_exponent 0.5: the McKean-Vlasov model takes m = 1 (linear diffusion) or m > 1" -model mckean_vlasov -diffusion_exponent 0.5
expect 2 "-blowup_fraction 2 must be in (0, 1]" -model mckean_vlasov -blowup_fraction 2
expect 2 "-diffusion_exponent 1: the porous medium needs m > 1" -model porous_medium -diffusion_exponent 1
expect 2 "-diffusion_exponent 0.5: the porous medium needs m > 1" -model porous_medium -diffusion_exponent 0.5
expect 2 "-diffusion -2: the diffusion coefficient must be a finite number >= 0" -model porous_medium -diffusion -2
expect 2 "the Barenblatt solution exists for t > 0 only, got t = 0 (use -init_time > 0)" -model porous_medium -init barenblatt
expect 2 "-init barenblatt: the Barenblatt profile belongs to -model porous_medium, not fokker_planck" -init barenblatt -init_time 1
expect 2 "-ts_dt 0.1 exceeds the explicit stability bound" -ts_type rk -ts_dt 0.1
expect 2 "-potential harmonic: unknown potential; valid are" -potential harmonic
expect 2 "-init blob: valid are gaussian, uniform, file, exact, gibbs, barenblatt" -init blob
expect 2 "-da_grid_x 1: need at least 2 cells per axis" -da_grid_x 1
expect 2 "-da_grid_y 1: need at least 2 cells per axis" -dim 2 -da_grid_y 1
expect 2 "-domain_lower 3 is not below -domain_upper 2 on axis x" -domain_lower 3 -domain_upper 2
expect 2 "-domain_lower has 3 entries, but -dim 2 needs 2" -dim 2 -domain_lower -1,-2,-3
expect 2 "-init_mean has 2 entries, but -dim 3 needs 3" -dim 3 -init_mean 0,1
expect 2 "-diffusion -1: the diffusion coefficient must be a finite number >= 0" -diffusion -1
expect 2 "-init_variance -0.5 on axis x: a variance must be positive" -init_variance -0.5
expect 2 "-init_mass 0: the mass must be positive" -init_mass 0
expect 2 "-init gaussian: the initial density has zero mass on the box (is -init_mean inside the domain?)" -init_mean 100 -init_variance 0.01
expect 2 "-init file -init_file nan.h5: the initial density has 1 NaN or infinite values" -da_grid_x 64 -init file -init_file nan.h5
expect 2 "-init file -init_file negative.h5: the initial density has 1 negative values (min -0.5)" -da_grid_x 64 -init file -init_file negative.h5
expect 2 "-init file -init_file zero.h5: the initial density has zero mass" -da_grid_x 64 -init file -init_file zero.h5
expect 2 "-init_file missing.h5: no such readable file" -init file -init_file missing.h5
expect 2 "-init_file text.h5: not an HDF5 file" -init file -init_file text.h5
expect 2 "the snapshot has 64 cells along x, this run has 128 (-da_grid_x): a different grid" -init file -init_file good/snap_00001.h5
expect 2 "-init file needs -init_file PATH" -init file
ranks=2
expect 2 "-cfl 0: the Courant number must be in (0, 1]" -cfl 0
expect 2 "-cfl 1.5: the Courant number must be in (0, 1]" -cfl 1.5
expect 2 "-bc wrap: valid are noflux, periodic" -bc wrap
ranks=1
expect 2 "-ts_type glee is not supported" -ts_type glee
expect 2 "-exact: model fokker_planck with potential double_well has no exact solution" -potential double_well -exact
expect 2 "-mesh nowhere: no file meshes/nowhere.yaml" -mesh nowhere
ranks=2
expect 2 "too small for 2 ranks" -da_grid_x 3

# an output directory that cannot be written, and one that exists, are refused before the first step
set +e
gf_run 2 run -output_dir plain_file/run > out.log 2> err.log
status=$?
set -e
if [ $status -ne 2 ] || ! grep -qF "cannot create the directory" err.log; then echo "FAIL: unwritable output directory -> $status"; cat err.log; failures=$((failures + 1)); else echo "ok: unwritable output directory -> 2"; fi
before=$(md5sum good/snap_00001.h5)
set +e
gf_run 2 run -da_grid_x 64 -ts_max_time 0.05 -output_dir good > out.log 2> err.log
status=$?
set -e
if [ $status -ne 2 ] || ! grep -qF "the directory exists and holds other results; add -output_overwrite" err.log || [ "$before" != "$(md5sum good/snap_00001.h5)" ]; then
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
[ $failures -eq 0 ] || { echo "$failures bad-input checks failed"; exit 1; }
