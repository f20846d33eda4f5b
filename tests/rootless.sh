#!/usr/bin/env bash
# Runs a test binary as an unprivileged user (uid 65534, no capabilities) against a copy
# of build/rdbox and the rootfs that user can read. ctest uses it as the launcher of the
# rootless run; "setup DIR SRC_BIN SRC_ROOTFS [ATTACK]" and "cleanup DIR" are its fixtures.
set -euo pipefail
case "${1:-}" in
  setup)
    dir=$2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$3" "$dir/rdbox"
    if [[ -d $4 ]]; then cp -a "$4" "$dir/rootfs"; fi
    if [[ -n ${5:-} ]]; then cp "$5" "$dir/attack"; fi
    chmod -R a+rX "$dir"
    chmod 0755 "$dir"
    exit 0 ;;
  cleanup)
    rm -rf "$2"
    exit 0 ;;
esac
dir=$1
shift
test_bin=$1
shift
# Listing the tests (ctest's discovery) needs neither the copy nor another user.
for a in "$@"; do
  [[ $a == --gtest_list_tests ]] && exec "$test_bin" "$@"
done
cp "$test_bin" "$dir/tests.$$"
chmod a+rx "$dir/tests.$$"
trap 'rm -f "$dir/tests.$$"' EXIT
cd /tmp
env RDBOX_BIN="$dir/rdbox" RDBOX_ROOTFS="$dir/rootfs" \
  setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$dir/tests.$$" "$@"
