#!/usr/bin/env bash
# runtime-tools' OCI validation suite against a runtime: every validation/*/*.t built in
# RUNTIME_TOOLS_DIR (make runtimetest validation-executables; commit 260e151 builds offline
# with Go 1.19 from its vendor/), each in a private mount namespace (run plainly, the
# suite leaks mounts into the host) and bounded in time. Prints one line per test
# (passed/failed TAP assertions) and the totals; with -v the failing assertions too.
# Usage: scripts/oci-validation.sh [-v] RUNTIME_TOOLS_DIR RUNTIME [TEST...]
set -uo pipefail
verbose=
[[ ${1:-} == -v ]] && { verbose=1; shift; }
[[ $# -ge 2 ]] || { echo "usage: $0 [-v] RUNTIME_TOOLS_DIR RUNTIME [TEST...]" >&2; exit 2; }
dir=$(realpath "$1") runtime=$(realpath "$2")
shift 2
[[ $(id -u) == 0 ]] || { echo "$0: needs root" >&2; exit 2; }
cd "$dir" || exit 2
[[ -x runtimetest ]] || { echo "$0: no $dir/runtimetest (make runtimetest validation-executables)" >&2; exit 2; }
tests=("$@")
((${#tests[@]})) || for t in validation/*/*.t; do tests+=("$(basename "$t" .t)"); done
pass=0 fail=0
for t in "${tests[@]}"; do
  exe=validation/$t/$t.t
  [[ -x $exe ]] || { echo "$t: not built"; continue; }
  out=$(RUNTIME=$runtime timeout --signal=KILL 120 unshare -m --propagation private "$exe" 2>&1)
  rc=$?
  p=$(grep -cE '^ok ' <<<"$out")
  f=$(grep -cE '^not ok ' <<<"$out")
  ((rc == 137)) && f=$((f + 1))  # killed by the time limit: one failure more
  pass=$((pass + p)) fail=$((fail + f))
  printf '%-40s %5d passed %5d failed%s\n' "$t" "$p" "$f" "$( ((rc == 137)) && echo ' (timed out)')"
  [[ -n $verbose && $f -gt 0 ]] && grep -E -A12 '^not ok ' <<<"$out" | sed 's/^/    /' | head -60
done
echo "total: $pass passed, $fail failed"
