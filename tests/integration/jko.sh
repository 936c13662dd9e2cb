# jko.sh: JKO steps (-ts_type jko). Every run keeps mass to 1e-12, rho >= 0, a non-increasing
# energy and the JKO inequality F(new) + W2^2/(2 tau) <= F(old) at every step (gf_testtool check;
# the primal-dual method to its tolerance). Against exact answers: the JKO Gaussian recursion
# (the quantile method to 1e-5, primal-dual to 2e-3), the Barenblatt solution; 1, 2 and 4 ranks agree
# (quantile bitwise; primal-dual to 1e-4 of the maximum, its tolerance being 1e-5 relative residuals);
# a step that does not converge stops the run with a message and the last good state kept.
source "$(dirname "$0")/common.sh"

# value DIR COLUMN: the last row's COLUMN of DIR/diagnostics.csv
value() { "$GF_TOOL" last "$1" "$2" | awk '{ print $2 }'; }

# recursion TAU: the mean and variance at t = 1 of the JKO steps of Ornstein-Uhlenbeck (sigma = 1, V = x^2/2)
# from N(1, 0.25): one step maps N(m, s^2) to N(m/(1+tau), s'^2) with (1+tau) s'^2 - s s' - tau = 0
recursion() {
  awk -v tau="$1" 'BEGIN { m = 1; s = 0.5; for (k = 0; k < int(1 / tau + 0.5); k++) { m /= 1 + tau; s = (s + sqrt(s * s + 4 * (1 + tau) * tau)) / (2 * (1 + tau)) } printf "%.10f %.10f\n", m, s * s }'
}
read -r m01 v01 < <(recursion 0.1)
check "recursion variance at tau 0.1 (the issue's 0.872709)" "$v01" 0.8727085 0.8727095
check "recursion mean at tau 0.1 (the issue's 0.385543)" "$m01" 0.3855425 0.3855435

# the exact quantile method, 1D, 512 cells: the recursion to 1e-5 at two steps; 2 ranks give the 1-rank result
for tau in 0.1 0.025; do
  read -r mean variance < <(recursion "$tau")
  for n in 1 2; do
    gf_run "$n" run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -ts_dt "$tau" -output_dir "quantile_${tau}_np$n" > "quantile_${tau}_np$n.log"
    "$GF_TOOL" check "quantile_${tau}_np$n"
    got_mean=$(value "quantile_${tau}_np$n" mean_x)
    got_var=$(value "quantile_${tau}_np$n" cov_xx)
    check "quantile tau $tau np$n: variance - recursion" "$(awk -v a="$got_var" -v b="$variance" 'BEGIN { print a - b }')" -1e-5 1e-5
    check "quantile tau $tau np$n: mean - recursion" "$(awk -v a="$got_mean" -v b="$mean" 'BEGIN { print a - b }')" -1e-5 1e-5
  done
  same_density "quantile_${tau}_np1/snap_00010.h5" "quantile_${tau}_np2/snap_00010.h5" 1e-13
done

# -jko_order 2 (half a JKO step, then the geodesic extended to twice its length): second order against
# the PDE's exact Ornstein-Uhlenbeck solution (the first-order steps' error halves with tau)
for tau in 0.1 0.05; do
  gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -jko_order 2 -ts_dt "$tau" -exact -output_dir "order2_$tau" > "order2_$tau.log"
  "$GF_TOOL" check "order2_$tau"
done
e1=$(awk '/error_mean/ { print $2 }' order2_0.1.log)
e2=$(awk '/error_mean/ { print $2 }' order2_0.05.log)
check "order 2: observed order of the mean error, tau 0.1 -> 0.05" "$(awk -v a="$e1" -v b="$e2" 'BEGIN { print log(a / b) / log(2) }')" 1.8 2.2

# the same with the back-and-forth method (its extension from the c-transform for twice the step)
for tau in 0.1 0.05; do
  gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -jko_method bfm -jko_order 2 -ts_dt "$tau" -exact -output_dir "bfm2_$tau" > "bfm2_$tau.log"
  "$GF_TOOL" check "bfm2_$tau"
done
e1=$(awk '/error_mean/ { print $2 }' bfm2_0.1.log)
e2=$(awk '/error_mean/ { print $2 }' bfm2_0.05.log)
check "bfm order 2: observed order of the mean error, tau 0.1 -> 0.05" "$(awk -v a="$e1" -v b="$e2" 'BEGIN { print log(a / b) / log(2) }')" 1.8 2.2

# bfm's steps are those of point values (its energy and pushforwards), the state cell averages: the step converts
# between them (jko_bfm.c, PointValues). 1D, h = 1/8: the recursion's variance to 2e-4 at tau 0.1 and 0.025 (measured
# -1.6e-5, +4.1e-5; read as point values the cell averages were -1.08e-3, -4.6e-4 off: -h^2/12 (1 - e^{-2t}))
for tau in 0.1 0.025; do
  read -r mean variance < <(recursion "$tau")
  gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -jko_method bfm -da_grid_x 128 -ts_dt "$tau" -output_dir "bfm_cells_$tau" > "bfm_cells_$tau.log"
  "$GF_TOOL" check "bfm_cells_$tau"
  check "bfm 1D h = 1/8 tau $tau: variance - recursion" "$(awk -v a="$(value "bfm_cells_$tau" cov_xx)" -v b="$variance" 'BEGIN { print a - b }')" -2e-4 2e-4
done

# bfm with small steps. Each step stops on its mismatch relative to the step's own change |rho - mu|_1 (relative
# to the mass, each step kept up to rtol M whatever tau: 256 cells, tau 0.003125, 320 steps, variance +3.1e-3 off
# the recursion, measured +5.7e-6 now), and starts from mu's own potentials (h = 1/8, tau 0.00625: from zero
# potentials the first step stalled at a mismatch of 5.6e-3 and the run stopped; measured +1.2e-4 now)
for case in "256 0.003125 1e-4" "128 0.00625 5e-4"; do
  read -r n tau tol <<< "$case"
  read -r mean variance < <(recursion "$tau")
  gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -jko_method bfm -da_grid_x "$n" -ts_dt "$tau" -output_interval 1 -output_dir "bfm_small_$n" > "bfm_small_$n.log"
  GF_JKO_TOL=1e-5 "$GF_TOOL" check "bfm_small_$n"
  check "bfm 1D $n cells tau $tau: variance - recursion" "$(awk -v a="$(value "bfm_small_$n" cov_xx)" -v b="$variance" 'BEGIN { print a - b }')" "-$tol" "$tol"
done

# bfm's observed order in tau (gradflow study, 1024 cells, tau 0.1 ... 0.00625 against the 16-step run; measured
# 0.969, 0.984, 0.992 first order, 2.002, 1.996, 2.000 with -jko_order 2)
for order in 1 2; do
  gf_run 1 study -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -jko_method bfm -jko_order "$order" -da_grid_x 1024 \
    -study_refine time -study_levels 5 -study_reference self -output_dir "bfm_study_$order" > "bfm_study_$order.log"
  for level in 1 2 3; do
    order_l1=$(awk -F, -v l="$level" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "order_l1") c = i; next } $1 == l { print $c }' "bfm_study_$order/study.csv")
    check "bfm -jko_order $order: observed L1 order in tau, level $level" "$order_l1" "$(awk -v p="$order" 'BEGIN { print p - 0.15 * p }')" "$(awk -v p="$order" 'BEGIN { print p + 0.15 * p }')"
  done
done

# bfm in 2D (h = 1/8, two steps of tau 0.1) on 1, 2 and 4 ranks: ranks read the pushforward's field
# across their boundaries (their windows); the recursion's variance (0.466450) to 1e-4 (measured within 1e-5;
# 1e-3 off while the cell averages were read as point values), the mean (1/1.21) to 1e-4, and the ranks agree
# to 2e-4 of the maximum (the steps end at the mismatch floor, 4e-4)
for n in 1 2 4; do
  gf_run "$n" run -model fokker_planck -diffusion 1 -potential quadratic -dim 2 -da_grid_x 96 -da_grid_y 96 -domain_lower -6 -domain_upper 6 -init gaussian -init_mean 1 -init_variance 0.25 \
    -ts_type jko -jko_method bfm -ts_dt 0.1 -ts_max_time 0.2 -output_interval 0.1 -output_dir "bfm2d_np$n" > "bfm2d_np$n.log"
  "$GF_TOOL" check "bfm2d_np$n"
  variance=$(awk 'BEGIN { s = 0.5; for (k = 0; k < 2; k++) s = (s + sqrt(s * s + 4 * 1.1 * 0.1)) / 2.2; printf "%.10f\n", s * s }')
  for axis in xx yy; do
    check "bfm 2D np$n: variance $axis - recursion" "$(awk -v a="$(value "bfm2d_np$n" "cov_$axis")" -v b="$variance" 'BEGIN { print a - b }')" -1e-4 1e-4
  done
  check "bfm 2D np$n: mean x - recursion" "$(awk -v a="$(value "bfm2d_np$n" mean_x)" 'BEGIN { print a - 1 / 1.21 }')" -1e-4 1e-4
done
same_density bfm2d_np1/snap_00002.h5 bfm2d_np2/snap_00002.h5 2e-4 relative
same_density bfm2d_np1/snap_00002.h5 bfm2d_np4/snap_00002.h5 2e-4 relative

# bfm with an interaction (McKean-Vlasov, sigma 0.1, W = |x|^2/2 through the grid convolution, linearised per step):
# W * rho = (|x - m|^2 + Var)/2 keeps the mean, so the steps are those of Ornstein-Uhlenbeck about it with sigma 0.1,
# (1 + tau) s'^2 - s s' - sigma tau = 0: variance 0.1857124 after 3 steps of 0.1 from 0.25 (measured -1.7e-6; primal_dual
# -8.4e-4). 64^2 on [-3, 3]^2, 1 and 2 ranks
read -r mv_variance < <(awk 'BEGIN { s = 0.5; for (k = 0; k < 3; k++) s = (s + sqrt(s * s + 4 * 1.1 * 0.1 * 0.1)) / 2.2; printf "%.10f\n", s * s }')
for n in 1 2; do
  gf_run "$n" run -model mckean_vlasov -diffusion 0.1 -interaction quadratic -dim 2 -da_grid_x 64 -da_grid_y 64 -domain_lower -3 -domain_upper 3 -init gaussian -init_mean 0.5 \
    -init_variance 0.25 -ts_type jko -jko_method bfm -ts_dt 0.1 -ts_max_time 0.3 -output_interval 0.1 -output_dir "bfm_mv_np$n" > "bfm_mv_np$n.log"
  "$GF_TOOL" check "bfm_mv_np$n"
  for axis in xx yy; do
    check "bfm with interaction np$n: variance $axis - recursion" "$(awk -v a="$(value "bfm_mv_np$n" "cov_$axis")" -v b="$mv_variance" 'BEGIN { print a - b }')" -2e-5 2e-5
  done
  check "bfm with interaction np$n: mean x (kept)" "$(value "bfm_mv_np$n" mean_x)" 0.49999 0.50001
done
same_density bfm_mv_np1/snap_00003.h5 bfm_mv_np2/snap_00003.h5 2e-4 relative

# bfm on the porous medium (m = 2; -jko_rtol 1e-4: the mismatch's floor there is above 1e-3). 1D Barenblatt:
# one step of 2.5e-4 against the exact quantile step, within 3e-3 (256 cells) and 1e-3 (1024 cells) of the
# maximum (measured 2.5e-3, 2.8e-4: the difference falls with h; at 512 cells 1.9e-3 in the edge cell with the
# Lagrange cubic, 4.8e-4 with the Catmull-Rom one); to t = 2.25e-3 first order in tau
bar1d="-model porous_medium -dim 1 -domain_lower 0 -domain_upper 1 -init barenblatt -init_mean 0.5 -init_time 2.5e-4 -ts_type jko"
for n in 256 1024; do
  # shellcheck disable=SC2086
  gf_run 1 run $bar1d -da_grid_x "$n" -jko_method bfm -jko_rtol 1e-4 -ts_dt 2.5e-4 -ts_max_time 5e-4 -output_interval 2.5e-4 -output_dir "pm1_bfm_$n" > "pm1_bfm_$n.log"
  # shellcheck disable=SC2086
  gf_run 1 run $bar1d -da_grid_x "$n" -jko_method quantile -ts_dt 2.5e-4 -ts_max_time 5e-4 -output_interval 2.5e-4 -output_dir "pm1_q_$n" > "pm1_q_$n.log"
  "$GF_TOOL" check "pm1_bfm_$n"
done
same_density pm1_q_256/snap_00002.h5 pm1_bfm_256/snap_00002.h5 3e-3 relative
same_density pm1_q_1024/snap_00002.h5 pm1_bfm_1024/snap_00002.h5 1e-3 relative
# pm1_order ORDER MAX LO HI: the 1D Barenblatt, 512 cells, to t = 2.25e-3 at tau 2.5e-4 and 1.25e-4 with -jko_order
# ORDER: the L1 error against the exact solution at 2.5e-4 in [0, MAX], the observed order in tau in [LO, HI]
pm1_order() {
  local e1 e2
  for tau in 2.5e-4 1.25e-4; do
    # shellcheck disable=SC2086
    gf_run 1 run $bar1d -da_grid_x 512 -jko_method bfm -jko_rtol 1e-4 -jko_order "$1" -ts_dt "$tau" -ts_max_time 2.25e-3 -output_interval 2e-3 -exact -output_dir "pm1_o$1_$tau" > "pm1_o$1_$tau.log"
    "$GF_TOOL" check "pm1_o$1_$tau"
  done
  e1=$(awk '/error_l1/ { print $2 }' "pm1_o$1_2.5e-4.log")
  e2=$(awk '/error_l1/ { print $2 }' "pm1_o$1_1.25e-4.log")
  check "bfm order $1 porous medium 1D: L1 error against Barenblatt at tau 2.5e-4" "$e1" 0 "$2"
  check "bfm order $1 porous medium 1D: observed order in tau, 2.5e-4 -> 1.25e-4" "$(awk -v a="$e1" -v b="$e2" 'BEGIN { print log(a / b) / log(2) }')" "$3" "$4"
}
# fallbacks LOG: the steps of a -jko_order 2 run taken as two half steps
fallbacks() { sed -n 's/.*; \([0-9]*\) steps taken as two half steps.*/\1/p' "$1"; }
pm1_order 1 3.5e-2 0.85 1.15

# 2D Barenblatt, 128^2, two steps on 1 and 2 ranks: the L1 error against the exact solution (5.6e-2 measured;
# primal_dual's is 4.4e-2 at t = 2.25e-3), and the ranks agree
for n in 1 2; do
  gf_run "$n" run -options_file "$GF_SRC/problems/jko_porous_medium_2d.yaml" -jko_method bfm -jko_rtol 1e-4 -ts_max_time 7.5e-4 -output_interval 2.5e-4 -output_dir "pm_bfm_np$n" > "pm_bfm_np$n.log"
  "$GF_TOOL" check "pm_bfm_np$n"
  check "bfm porous medium 2D np$n: L1 error against Barenblatt" "$(value "pm_bfm_np$n" error_l1)" 0 0.07
done
same_density pm_bfm_np1/snap_00003.h5 pm_bfm_np2/snap_00003.h5 1e-4 relative

# bfm -jko_order 2 on the porous medium (the extension read on the support only, jko_bfm_order2.c). 1D Barenblatt,
# 512 cells, to t = 2.25e-3: the L1 error against the exact solution at tau 2.5e-4 and 1.25e-4 (measured 4.7e-4,
# 1.3e-4; first order 2.86e-2, 1.51e-2), second order in tau; each step an extrapolation, none a fallback
pm1_order 2 1e-3 1.5 2.3
for tau in 2.5e-4 1.25e-4; do
  check "bfm order 2 porous medium 1D tau $tau: steps taken as two half steps" "$(fallbacks "pm1_o2_$tau.log")" 0 0
done
# 2D Barenblatt, 128^2, two steps of 2.5e-4 on 1 and 2 ranks: L1 3.7e-3 measured (first order 5.6e-2), no fallback, the ranks agree
for n in 1 2; do
  gf_run "$n" run -options_file "$GF_SRC/problems/jko_porous_medium_2d.yaml" -jko_method bfm -jko_rtol 1e-4 -jko_order 2 -ts_max_time 7.5e-4 -output_interval 2.5e-4 -output_dir "pm_bfm2_np$n" > "pm_bfm2_np$n.log"
  "$GF_TOOL" check "pm_bfm2_np$n"
  check "bfm order 2 porous medium 2D np$n: L1 error against Barenblatt" "$(value "pm_bfm2_np$n" error_l1)" 0 6e-3
  check "bfm order 2 porous medium 2D np$n: steps taken as two half steps" "$(fallbacks "pm_bfm2_np$n.log")" 0 0
done
same_density pm_bfm2_np1/snap_00003.h5 pm_bfm2_np2/snap_00003.h5 1e-4 relative

# mass at the walls: Ornstein-Uhlenbeck on [-3, 3] (the density at x = 3 about 1% of its maximum), tau 0.1 to t = 1.
# quantile at 768 cells is the reference; at 96 cells it is within 1.0e-5 of it (it had stopped at step 6: Newton's
# steps at round-off, the gradient's round-off 1.08e-12 above -jko_rtol). bfm at 96 and 192 cells: +2.3e-5, +1.5e-5
# (before the walls' mirror images, 96 cells: -2.3e-4; 192 cells: the first step stalled at 1.6e-3 of the mass in the
# wall cell and the run stopped)
walls="-options_file $GF_SRC/problems/jko_fokker_planck_1d.yaml -domain_lower -3 -domain_upper 3"
# shellcheck disable=SC2086
gf_run 1 run $walls -da_grid_x 768 -output_dir walls_ref > walls_ref.log
"$GF_TOOL" check walls_ref
for run in "quantile 96" "bfm 96" "bfm 192"; do
  read -r method n <<< "$run"
  # shellcheck disable=SC2086
  gf_run 1 run $walls -da_grid_x "$n" -jko_method "$method" -output_dir "walls_${method}_$n" > "walls_${method}_$n.log"
  "$GF_TOOL" check "walls_${method}_$n"
  check "$method at the walls, $n cells: variance - 768-cell quantile's" "$(awk -v a="$(value "walls_${method}_$n" cov_xx)" -v b="$(value walls_ref cov_xx)" 'BEGIN { print a - b }')" -5e-5 5e-5
done

# the primal-dual method on the same 1D steps (tau 0.1): the recursion to 2e-3, its inequality to its tolerance
export GF_JKO_TOL=1e-5
read -r mean variance < <(recursion 0.1)
for n in 1 2; do
  gf_run "$n" run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -jko_method primal_dual -output_dir "pd1d_np$n" > "pd1d_np$n.log"
  "$GF_TOOL" check "pd1d_np$n"
  got_mean=$(value "pd1d_np$n" mean_x)
    got_var=$(value "pd1d_np$n" cov_xx)
  check "primal_dual 1D np$n: variance - recursion" "$(awk -v a="$got_var" -v b="$variance" 'BEGIN { print a - b }')" -2e-3 2e-3
  check "primal_dual 1D np$n: mean - recursion" "$(awk -v a="$got_mean" -v b="$mean" 'BEGIN { print a - b }')" -2e-3 2e-3
done
same_density pd1d_np1/snap_00010.h5 pd1d_np2/snap_00010.h5 1e-6

# bfm and primal_dual give the same step on the same grid (one step of tau 0.1, primal_dual with four pseudo-time
# intervals): their L1 difference falls with h (measured 1.69e-3, 4.8e-4, 1.9e-4 at 128, 256, 512 cells; what
# remains at 1024 cells, 1.3e-4, is primal_dual's error in time along its path: its variance is 1.5e-4 off the
# recursion's, bfm's 1e-6)
previous=1
for n in 128 256 512; do
  gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -da_grid_x "$n" -jko_method bfm -ts_max_time 0.1 -output_dir "same_bfm_$n" > "same_bfm_$n.log"
  gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -da_grid_x "$n" -jko_method primal_dual -jko_substeps 4 -ts_max_time 0.1 -output_dir "same_primal_dual_$n" > "same_primal_dual_$n.log"
  "$GF_TOOL" check "same_primal_dual_$n"
  "$GF_TOOL" check "same_bfm_$n"
  difference=$("$GF_TOOL" l1 "same_bfm_$n/snap_00001.h5" "same_primal_dual_$n/snap_00001.h5")
  check "bfm against primal_dual, one step at $n cells: L1 difference, below the coarser grid's" "$difference" 0 "$(awk -v p="$previous" -v n="$n" 'BEGIN { print (n == 128 ? 3e-3 : 0.8 * p) }')"
  previous=$difference
done

# 2D Barenblatt (porous medium m = 2) on a small grid, 4 steps: structure, error against the exact solution, 1 = 2 ranks
small_pm="-da_grid_x 48 -da_grid_y 48 -ts_max_time 1.25e-3 -output_interval 2.5e-4"
for n in 1 2 4; do
  # shellcheck disable=SC2086
  gf_run "$n" run -options_file "$GF_SRC/problems/jko_porous_medium_2d.yaml" $small_pm -output_dir "pm_np$n" > "pm_np$n.log"
  "$GF_TOOL" check "pm_np$n"
  check "porous medium 2D np$n: L1 error against Barenblatt" "$(value "pm_np$n" error_l1)" 0 0.1
done
same_density pm_np1/snap_00005.h5 pm_np2/snap_00005.h5 1e-4 relative
same_density pm_np1/snap_00005.h5 pm_np4/snap_00005.h5 1e-4 relative

# 2D aggregation (interaction through the FFT convolution) on 1 and 2 ranks, a 3D Barenblatt on 1, 2 and 4 ranks
for n in 1 2; do
  gf_run "$n" run -options_file "$GF_SRC/problems/jko_aggregation_2d.yaml" -da_grid_x 32 -da_grid_y 32 -ts_max_time 0.3 -output_interval 0.1 -output_dir "agg_np$n" > "agg_np$n.log"
  "$GF_TOOL" check "agg_np$n"
done
same_density agg_np1/snap_00003.h5 agg_np2/snap_00003.h5 1e-4 relative
# the interaction's inexact linearisations (-jko_pd_inexact, default 0.03) reach the same fixed point as exact ones
gf_run 1 run -options_file "$GF_SRC/problems/jko_aggregation_2d.yaml" -da_grid_x 32 -da_grid_y 32 -ts_max_time 0.3 -output_interval 0.1 -jko_pd_inexact 0 -output_dir agg_exact > agg_exact.log
same_density agg_np1/snap_00003.h5 agg_exact/snap_00003.h5 1e-4 relative
for n in 1 2 4; do
  gf_run "$n" run -model porous_medium -dim 3 -da_grid_x 16 -da_grid_y 16 -da_grid_z 16 -domain_lower 0 -domain_upper 1 -init barenblatt -init_mean 0.5 -init_time 1e-3 -ts_type jko -ts_dt 5e-4 -ts_max_time 2.5e-3 \
    -output_interval 5e-4 -exact -output_dir "pm3_np$n" > "pm3_np$n.log"
  "$GF_TOOL" check "pm3_np$n"
  check "porous medium 3D np$n: L1 error against Barenblatt" "$(value "pm3_np$n" error_l1)" 0 0.06
done
same_density pm3_np1/snap_00005.h5 pm3_np2/snap_00005.h5 1e-4 relative
same_density pm3_np1/snap_00005.h5 pm3_np4/snap_00005.h5 1e-4 relative

# a step that does not converge: exit status 1, the message, the last good state in the run directory
status=0
gf_run 1 run -options_file "$GF_SRC/problems/jko_porous_medium_2d.yaml" -da_grid_x 32 -da_grid_y 32 -jko_max_it 3 -output_dir stuck > stuck.log 2> stuck.err || status=$?
check "exit status of a JKO step that does not converge" "$status" 1 1
grep -q "did not converge in 3 iterations" stuck.err || { echo "FAIL: no non-convergence message: $(cat stuck.err)"; exit 1; }
grep -q "the last good state at t = 0.00025 is saved as stuck/snap_00001.h5" stuck.err || { echo "FAIL: last good state not reported: $(cat stuck.err)"; exit 1; }
test -f stuck/snap_00001.h5 || { echo "FAIL: the last good state was not kept"; exit 1; }
# the same with bfm (its ascent cut off after 3 iterations per start)
status=0
gf_run 1 run -options_file "$GF_SRC/problems/jko_fokker_planck_1d.yaml" -da_grid_x 128 -jko_method bfm -jko_max_it 3 -output_dir stuck_bfm > stuck_bfm.log 2> stuck_bfm.err || status=$?
check "exit status of a bfm step that does not converge" "$status" 1 1
grep -q "jko_method bfm did not converge in" stuck_bfm.err || { echo "FAIL: no bfm non-convergence message: $(cat stuck_bfm.err)"; exit 1; }
grep -q "the last good state at t = 0 is saved as stuck_bfm/snap_00001.h5" stuck_bfm.err || { echo "FAIL: bfm's last good state not reported: $(cat stuck_bfm.err)"; exit 1; }
same_density stuck_bfm/snap_00000.h5 stuck_bfm/snap_00001.h5 0
echo "ok: JKO steps"
