#!/usr/bin/env bash
# tests/valgrind.sh RDBOX ROOTFS CASE — one representative run of a dynamically linked,
# sanitizer-free rdbox under valgrind memcheck (--error-exitcode=1, leaks included). It
# passes when rdbox's exit code is the expected one and valgrind printed no error, in
# rdbox or in the child before it execs. Exit 77 (skipped) says why a case cannot run.
#
# Not covered here: mounts (--rootfs, --bind, --tmpfs), whose openat2, fsopen and
# open_tree valgrind 3.19 does not know; --mode spawn and --vm. Both create a child sharing rdbox's memory
# with clone(CLONE_VM) on a custom stack (spawn: the guard), which valgrind does not
# support ("Unsupported clone() flags"); ASan+UBSan cover them (build-asan).
set -uo pipefail
rdbox=$1 rootfs=$2 case=$3
supp=$(dirname "$0")/valgrind.supp
tmp=$(mktemp -d /tmp/rdbox-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
case $case in
  fork|vfork|clone) args=(run --mode "$case" -- sh -c 'exit 3'); want=3 ;;
  sandbox)
    # Namespaces without mounts: valgrind 3.19 does not know openat2, fsopen or
    # open_tree (ENOSYS), which rdbox's mount steps need.
    args=(run --newpid --newuts --newipc --newnet --hostname vg --report json -- /bin/sh -c 'test "$(hostname)" = vg')
    [[ $(id -u) -eq 0 ]] || args=(run --newuser "${args[@]:1}")
    want=0 ;;
  failing) args=(run --report json -- /nonexistent/command); want=127 ;;
  dry_run) args=(run --dry-run --mode spawn -e $'X=\xff' -- true $'\xfe'); want=0 ;;
  compare) args=(compare --modes fork,vfork,clone -n 3 --format json -- true); want=0 ;;
  pipeline)
    # Three stages, the middle one not found, the JSON report. No new PID namespace: its
    # PID 1 overwrites rdbox's argv where /proc/self/stat says it is, which under valgrind
    # is valgrind's own, not the client's.
    args=(pipeline --pipefail --report json -- 'echo data' 'rdbox-vg-no-such-command' 'sh -c "cat; exit 4"')
    want=4 ;;
  *) echo "unknown case $case" >&2; exit 2 ;;
esac
valgrind -q --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect --suppressions="$supp" \
  "$rdbox" "${args[@]}" >out.txt 2>err.txt
rc=$?
cat out.txt err.txt
if grep -qE '^==[0-9]+== ' err.txt; then
  echo "FAIL: valgrind reported errors (above)"
  exit 1
fi
if [[ $rc -ne $want ]]; then
  echo "FAIL: exit code $rc, want $want"
  exit 1
fi
echo "ok: $case exit $rc under valgrind, no errors"
