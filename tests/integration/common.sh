# Shared by the integration scripts: strict mode, the tools, and a fresh work directory.
set -euo pipefail
: "${GF_BIN:?}" "${GF_TOOL:?}" "${GF_SRC:?}" "${GF_MPIEXEC:?}" "${GF_H5DIFF:?}" "${GF_WORK:?}"
rm -rf "$GF_WORK"
mkdir -p "$GF_WORK"
cd "$GF_WORK"

# gf_run N ARGS...: gradflow on N ranks (1: a singleton, without the launcher, and without Open MPI's
# daemon: isolated, shared memory off, its own session directory, so that it starts in 0.1 s), quiet.
gf_run() {
  local n=$1
  shift
  if [ "$n" -eq 1 ]; then
    OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self OMPI_MCA_orte_tmpdir_base="$(mktemp -d "$GF_WORK/.ompi.XXXXXX")" "$GF_BIN" "$@" -progress 0
  else
    "$GF_MPIEXEC" --oversubscribe -n "$n" "$GF_BIN" "$@" -progress 0
  fi
}

# same_density A B [TOLERANCE [relative]]: the /density datasets of two snapshots agree to TOLERANCE (max abs difference, default 1e-12; 0: bitwise; relative: of A's largest value).
same_density() {
  "$GF_TOOL" diff "$1" "$2" "${3:-1e-12}" ${4:+"$4"} || exit 1
}

# check DESCRIPTION VALUE LOW HIGH: LOW <= VALUE <= HIGH
check() {
  if awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 <= hi) }'; then
    echo "ok: $1 = $2 in [$3, $4]"
  else
    echo "FAIL: $1 = '$2' not in [$3, $4]"
    exit 1
  fi
}
