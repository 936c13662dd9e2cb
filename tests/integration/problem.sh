# problem.sh NAME "SMALL GRID OPTIONS" [REFERENCE_NAME [TOLERANCE]]: run problems/NAME.yaml on 1, 2 and 4
# ranks; every run keeps mass, positivity and energy decay at every step and matches the stored
# reference; the final densities on 2 and 4 ranks equal the 1-rank one to TOLERANCE (default 1e-12;
# implicit runs agree to the solver tolerance).
source "$(dirname "$0")/common.sh"
name=$1
small=$2
reference="$GF_SRC/tests/integration/reference/${3:-$name}.txt"
tolerance=${4:-1e-12}
for n in 1 2 4; do
  # shellcheck disable=SC2086
  gf_run "$n" run -options_file "$GF_SRC/problems/$name.yaml" $small -output_dir "np$n" > "np$n.log"
  tail -n 9 "np$n.log"
  "$GF_TOOL" check "np$n" "$reference"
done
last=$(basename "$(ls np1/snap_*.h5 | tail -n 1)")
same_density "np1/$last" "np2/$last" "$tolerance"
same_density "np1/$last" "np4/$last" "$tolerance"
