# mean_field_nn.sh: the width-N network (gradflow particles -model mean_field_nn) and its comparison.
#   1. linear neurons, population data, no noise (Heun): the empirical mean neuron m solves
#      m' = beta - m exactly, so m(1) = beta + (m(0) - beta) e^-1 to Heun's O(dt^2); the risk
#      column of particles.csv is |beta - m|^2/2; on 2 ranks the same numbers to 1e-12.
#   2. a ReLU student from 300 samples on 1 and 2 ranks: the same risk to 1e-12 (relative).
#   3. an N-sweep against a PDE run: compare.csv carries a finite risk_gap column and a
#      non-negative output_gap 1/2 E (f_N - f_rho)^2; for linear neurons with population data
#      f = m . x, so with one replica the output gap is exactly mean_error^2 / 2.
source "$(dirname "$0")/common.sh"
linear="-model mean_field_nn -dim 2 -da_grid_x 32 -da_grid_y 32 -domain_lower -4 -domain_upper 4 -diffusion 0 -nn_teacher 1,-0.5 -init_mean 0.5,0.5 -init_variance 0.25 -ts_max_time 1 -output_interval 1 -particles_n 500 -particles_dt 0.002"
for n in 1 2; do
  # shellcheck disable=SC2086
  gf_run "$n" particles $linear -output_dir "lin$n" > "lin$n.log"
done
head -n 1 lin1/particles.csv | grep -q ',risk$' || { echo "FAIL: particles.csv lacks the risk column"; exit 1; }
read -r m0x m0y m1x m1y r1 <<< "$(awk -F, 'NR == 2 { x0 = $4; y0 = $5 } NR == 3 { print x0, y0, $4, $5, $9 }' lin1/particles.csv)"
check "mean x error at t = 1" "$(awk -v a="$m0x" -v b="$m1x" 'BEGIN { e = exp(-1); d = b - (1 + (a - 1) * e); print (d < 0 ? -d : d) }')" 0 1e-6
check "mean y error at t = 1" "$(awk -v a="$m0y" -v b="$m1y" 'BEGIN { e = exp(-1); d = b - (-0.5 + (a + 0.5) * e); print (d < 0 ? -d : d) }')" 0 1e-6
check "risk - |beta - m|^2/2" "$(awk -v x="$m1x" -v y="$m1y" -v r="$r1" 'BEGIN { d = r - 0.5 * ((1 - x)^2 + (-0.5 - y)^2); print (d < 0 ? -d : d) }')" 0 1e-12
check "2-rank risk difference" "$(paste -d, lin1/particles.csv lin2/particles.csv | awk -F, 'NR == 3 { d = $9 - $18; print (d < 0 ? -d : d) }')" 0 1e-12

relu="-model mean_field_nn -dim 2 -da_grid_x 24 -da_grid_y 24 -domain_lower -3 -domain_upper 3 -diffusion 0.02 -nn_neuron relu -nn_teacher 1.5,0.5,-0.5,1.5 -nn_samples 300 -init_mean 0,0 -init_variance 0.25 -ts_max_time 2 -output_interval 1"
for n in 1 2; do
  # shellcheck disable=SC2086
  gf_run "$n" particles $relu -particles_n 200 -particles_dt 0.01 -output_dir "relu$n" > "relu$n.log"
done
check "ReLU risk falls (t = 2 over t = 0)" "$(awk -F, 'NR == 2 { r0 = $9 } END { print $9 / r0 }' relu1/particles.csv)" 0 0.7
check "2-rank ReLU risk difference (relative)" "$(paste -d, relu1/particles.csv relu2/particles.csv | awk -F, 'END { d = ($9 - $18) / $9; print (d < 0 ? -d : d) }')" 0 1e-12

# shellcheck disable=SC2086
gf_run 1 run $relu -output_dir pde > pde.log
gf_run 2 compare -pde pde -particle_counts 20,40 -particle_replicas 2 -particles_dt 0.01 -compare_plot 0 > sweep.log
head -n 1 pde/compare.csv | grep -q 'risk_gap' || { echo "FAIL: compare.csv lacks risk_gap"; exit 1; }
check "risk gap at N = 40, t = 2" "$(awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) if ($k == "risk_gap") c = k } END { g = $c; print (g < 0 ? -g : g) }' pde/compare.csv)" 0 0.1
check "output gap at N = 40, t = 2 (>= 0, small)" "$(awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) if ($k == "output_gap") c = k } END { print $c }' pde/compare.csv)" 0 0.01

# shellcheck disable=SC2086
gf_run 1 run $linear -output_dir pdelin > pdelin.log
# the network's output at the default probes e_1, e_2, -e_1 is m . x_p, m = mass times the mean (its own moment columns)
check "linear f_probe1 - mass mean_x, f_probe2 - mass mean_y, f_probe1 + f_probe3" "$(awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) c[$k] = k } END { a = $c["f_probe1"] - $c["mass"] * $c["mean_x"]; b = $c["f_probe2"] - $c["mass"] * $c["mean_y"]; e = $c["f_probe1"] + $c["f_probe3"]; a = a < 0 ? -a : a; b = b < 0 ? -b : b; e = e < 0 ? -e : e; print a + b + e }' pdelin/diagnostics.csv)" 0 1e-13
gf_run 2 compare -pde pdelin -particle_counts 50,100 -particle_replicas 1 -particles_dt 0.002 -compare_plot 0 > sweeplin.log
check "linear output gap - mean_error^2/2 (relative)" "$(awk -F, 'NR == 1 { for (k = 1; k <= NF; k++) { if ($k == "output_gap") c = k; if ($k == "mean_error") e = k } } END { d = ($c - 0.5 * $e * $e) / $c; print (d < 0 ? -d : d) }' pdelin/compare.csv)" 0 1e-10
echo "ok: mean_field_nn particles and compare"
