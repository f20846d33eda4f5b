#!/usr/bin/env bash
# rdbox under containerd, the path a Kubernetes RuntimeClass takes: a private containerd
# (its own root, state and socket; CRI off) drives rdbox through its runc shim v2 with
# `ctr run --runc-binary RDBOX`. An image packed from rootfs/ (scripts/oci-image.sh) is
# imported; each case is one engine operation and its expected result:
#   run --rm (output, exit code), run -d + task ps/exec/pause/resume/kill/delete,
#   task kill --all, a tty (run -t under script(1)), and nothing left behind.
# Every ctr call is bounded (timeout); the whole test takes a few seconds.
# Usage: containerd_test.sh RDBOX SOURCE_DIR
# Exit 0: every case passed; 1: one failed; 77: skipped (not root, no containerd, no rootfs).
set -uo pipefail
rdbox=$(realpath "$1") src=$2
skip() { echo "containerd_test: skipped: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root (containerd)"
for p in containerd ctr containerd-shim-runc-v2; do
  command -v "$p" >/dev/null || skip "no $p (apt-get install containerd)"
done
[[ -x $src/rootfs/bin/busybox ]] || skip "no rootfs (scripts/make-rootfs.sh rootfs)"

# ctr and the shim make these; the ones that were not there before go (when empty).
made_dirs=()
for d in /run/containerd /run/containerd/fifo /run/containerd/s /run/containerd/runc; do
  [[ -e $d ]] || made_dirs=("$d" "${made_dirs[@]}")
done
work=$(mktemp -d /tmp/rdbox-ctd.XXXXXX)
ns=rdbox-test-$$
status=0
fail() { echo "FAIL $*"; status=1; }
ok() { echo "ok   $*"; }
ctr_() { timeout 30 ctr -a "$work/c.sock" -n "$ns" "$@"; }

cleanup() {
  if [[ -n ${ctd_pid:-} ]]; then
    for id in $(ctr_ task ls -q 2>/dev/null); do
      ctr_ task kill -a -s KILL "$id" >/dev/null 2>&1
      sleep 0.2
      ctr_ task delete -f "$id" >/dev/null 2>&1
    done
    for id in $(ctr_ container ls -q 2>/dev/null); do ctr_ container rm "$id" >/dev/null 2>&1; done
    ctr_ image rm localhost/rdbox-test:1 >/dev/null 2>&1
    kill "$ctd_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$ctd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ctd_pid" 2>/dev/null
  fi
  # Whatever containerd left mounted under its root (nothing, normally), then the tree.
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work"
  rmdir "/run/containerd/runc/$ns" 2>/dev/null
  for d in "${made_dirs[@]}"; do rmdir "$d" 2>/dev/null; done
}
trap cleanup EXIT

cat >"$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
EOF
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 100); do [[ -S $work/c.sock ]] && ctr_ version >/dev/null 2>&1 && break; sleep 0.1; done
ctr_ version >/dev/null 2>&1 || { echo "containerd did not start:"; tail -5 "$work/containerd.log"; exit 1; }

"$src/scripts/oci-image.sh" "$src/rootfs" localhost/rdbox-test:1 "$work/image.tar" || exit 1
ctr_ image import "$work/image.tar" >/dev/null || { echo "ctr image import failed"; exit 1; }
image=localhost/rdbox-test:1
run=(run --runc-binary "$rdbox")
state_of() { ctr_ task ls | awk -v id="$1" '$1 == id { print $3 }'; }
wait_state() {  # wait_state ID STATUS
  for _ in $(seq 50); do [[ $(state_of "$1") == "$2" ]] && return 0; sleep 0.1; done
  return 1
}

# run --rm: the output and the exit status pass through.
out=$(ctr_ "${run[@]}" --rm "$image" r1 echo hi 2>&1)
[[ $? == 0 && $out == hi ]] && ok "run --rm echo hi" || fail "run --rm echo hi: [$out]"
out=$(ctr_ "${run[@]}" --rm "$image" r2 sh -c 'echo out; exit 7' 2>&1)
rc=$?
[[ $rc == 7 && $out == out ]] && ok "run --rm exit 7" || fail "run --rm exit 7: rc $rc [$out]"

# run -d, then what a client does with a running task.
ctr_ "${run[@]}" -d "$image" d1 sh -c 'while :; do sleep 0.1; done' >/dev/null 2>&1 || fail "run -d"
wait_state d1 RUNNING && ok "run -d: RUNNING" || fail "run -d: [$(state_of d1)]"
out=$(ctr_ task exec --exec-id e1 d1 sh -c 'echo in; exit 3' 2>&1)
rc=$?
[[ $rc == 3 && $out == in ]] && ok "task exec" || fail "task exec: rc $rc [$out]"
pid=$(ctr_ task ls | awk '$1 == "d1" { print $2 }')
out=$(ctr_ task ps d1 2>&1)
grep -qw "^$pid" <<<"$out" && ok "task ps" || fail "task ps: [$out] has no $pid"
ctr_ task pause d1 && wait_state d1 PAUSED && ok "task pause" || fail "task pause: [$(state_of d1)]"
[[ $(timeout 10 "$rdbox" --root "/run/containerd/runc/$ns" state d1 2>&1) == *'"status": "paused"'* ]] &&
  ok "rdbox state: paused" || fail "rdbox state of the paused task"
ctr_ task resume d1 && wait_state d1 RUNNING && ok "task resume" || fail "task resume: [$(state_of d1)]"
ctr_ task kill -s KILL d1 && wait_state d1 STOPPED && ok "task kill" || fail "task kill: [$(state_of d1)]"
ctr_ task delete d1 >/dev/null 2>&1 && ok "task delete" || fail "task delete"
ctr_ container rm d1 || fail "container rm d1"

# task kill --all: every process of the container (rdbox kill --all ID 9).
ctr_ "${run[@]}" -d "$image" k1 sh -c 'sleep 100 & sleep 100' >/dev/null 2>&1 || fail "run -d k1"
wait_state k1 RUNNING || fail "k1: [$(state_of k1)]"
ctr_ task kill -a -s KILL k1 && wait_state k1 STOPPED && ok "task kill -a" || fail "task kill -a: [$(state_of k1)]"
ctr_ task delete k1 >/dev/null 2>&1 || fail "task delete k1"
ctr_ container rm k1 || fail "container rm k1"

# A terminal: the pty's master over the shim's console socket.
if command -v script >/dev/null; then
  out=$(timeout 30 script -qec "ctr -a $work/c.sock -n $ns run -t --rm --runc-binary $rdbox $image t1 sh -c 'test -t 0 && test -t 1 && echo isatty; exit 5'" /dev/null 2>&1)
  rc=$?
  [[ $rc == 5 && $out == *isatty* ]] && ok "run -t" || fail "run -t: rc $rc [$out]"
fi

# Nothing left: no task, no state under the shim's --root, no cgroup (the directories
# containerd itself made go in the cleanup).
[[ -z $(ctr_ task ls -q) ]] || fail "tasks left: $(ctr_ task ls -q)"
left=$(ls -A "/run/containerd/runc/$ns" 2>/dev/null)
[[ -z $left ]] && ok "no state left" || fail "state left under /run/containerd/runc/$ns: $left"
for h in /sys/fs/cgroup /sys/fs/cgroup/*; do
  [[ -e $h/$ns ]] && fail "cgroup left: $h/$ns"
done
exit $status
