#!/usr/bin/env bash
# rdbox as containerd's CRI runtime handler, the path a Kubernetes RuntimeClass takes:
# a private containerd (its own root, state, socket and config; the CRI plugin on, no CNI)
# with a runtime handler "rdbox" (runtime_type io.containerd.runc.v2, BinaryName rdbox),
# driven by crictl the way the kubelet drives it: runp, create, start, exec, exec -s,
# logs, stop, rm, stopp, rmp. Host-network pods only (no CNI here); the pod sandbox's
# image is a static pause program (tests/integration/pause.c) imported into the k8s.io
# namespace, the containers' image is packed from rootfs/ (scripts/oci-image.sh).
# Each case is one kubelet operation and its expected result: the exec output and exit
# code, the exit code `crictl inspect` reports, the PID namespace shared by the containers
# of a pod that asks for it (a container sees the pause process and the other container),
# a pod whose containers have their own, a read-only root, oomScoreAdj, a privileged
# container, a terminal, and nothing left behind (state, cgroups, mounts).
# Every client call is bounded (timeout); the whole test takes some seconds.
# Usage: cri_test.sh RDBOX SOURCE_DIR   (crictl: $CRICTL, else from PATH;
#        scripts/cri-setup.sh builds it from a cri-tools checkout, offline)
# Exit 0: every case passed; 1: one failed; 77: skipped (no root, containerd, crictl, ...).
set -uo pipefail
rdbox=$(realpath "$1") src=$(realpath "$2")
skip() { echo "cri_test: skipped: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root (containerd)"
for p in containerd ctr containerd-shim-runc-v2; do
  command -v "$p" >/dev/null || skip "no $p (apt-get install containerd)"
done
crictl=${CRICTL:-$(command -v crictl || true)}
[[ -n $crictl && -x $crictl ]] ||
  skip "no crictl (not packaged by Debian: scripts/cri-setup.sh CRI_TOOLS_CHECKOUT builds it; then CRICTL=PATH)"
[[ -x $src/rootfs/bin/busybox ]] || skip "no rootfs (scripts/make-rootfs.sh rootfs)"
command -v cc >/dev/null || skip "no C compiler for the pause program"

# The shim makes these (its socket); the ones that were not there before go (when empty).
made_dirs=()
for d in /run/containerd /run/containerd/s; do
  [[ -e $d ]] || made_dirs=("$d" "${made_dirs[@]}")
done
work=$(mktemp -d /tmp/rdbox-cri.XXXXXX)
cg=rdbox-cri-test-$$  # the pods' cgroup parent
status=0
fail() { echo "FAIL $*"; status=1; }
ok() { echo "ok   $*"; }
cri() { timeout 30 "$crictl" --config "$work/crictl.yaml" "$@"; }
ctr_() { timeout 30 ctr -a "$work/c.sock" -n k8s.io "$@"; }

cleanup() {
  if [[ -n ${ctd_pid:-} ]]; then
    for c in $(cri ps -aq 2>/dev/null); do cri stop -t 0 "$c" >/dev/null 2>&1; cri rm "$c" >/dev/null 2>&1; done
    for p in $(cri pods -q 2>/dev/null); do cri stopp "$p" >/dev/null 2>&1; cri rmp "$p" >/dev/null 2>&1; done
    kill "$ctd_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$ctd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$ctd_pid" 2>/dev/null
  fi
  # Shims (and their containers) of this containerd that outlived it, by pid.
  for pid in $(grep -l -- "-address $work/c.sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    kill -KILL "$pid" 2>/dev/null
  done
  # Container processes that outlived their shim: those in the pods' cgroups, by pid.
  for procs in /sys/fs/cgroup/*/"$cg"/*/cgroup.procs; do
    [[ -r $procs ]] && while read -r pid; do kill -KILL "$pid" 2>/dev/null; done <"$procs"
  done
  # What containerd left mounted under its root and state (the pods' /dev/shm, rootfs).
  grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -R -l "$m" 2>/dev/null; done
  for h in /sys/fs/cgroup/*/; do
    [[ -d $h$cg ]] && find "$h$cg" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  rm -rf "$work"
  for d in "${made_dirs[@]}"; do rmdir "$d" 2>/dev/null; done
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

mkdir -p "$work/cni/bin" "$work/cni/conf" "$work/logs" "$work/pause"
cat >"$work/config.toml" <<EOF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/rdbox-pause:test"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "rdbox"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rdbox]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.rdbox.options]
        BinaryName = "$rdbox"
        Root = "$work/rdbox-root"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$work/cni/bin"
    conf_dir = "$work/cni/conf"
EOF
cat >"$work/crictl.yaml" <<EOF
runtime-endpoint: unix://$work/c.sock
image-endpoint: unix://$work/c.sock
timeout: 20
EOF
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 100); do [[ -S $work/c.sock ]] && cri version >/dev/null 2>&1 && break; sleep 0.1; done
cri version >/dev/null 2>&1 || { echo "containerd (CRI) did not start:"; tail -5 "$work/containerd.log"; exit 1; }

# The images: a pause program alone, and the busybox root.
cc -O2 -static -o "$work/pause/pause" "$src/tests/integration/pause.c" 2>"$work/cc.log" ||
  skip "cannot link a static program ($(head -1 "$work/cc.log"))"
"$src/scripts/oci-image.sh" "$work/pause" localhost/rdbox-pause:test "$work/pause.tar" /pause || exit 1
"$src/scripts/oci-image.sh" "$src/rootfs" localhost/rdbox-test:1 "$work/image.tar" || exit 1
for t in pause image; do
  ctr_ image import "$work/$t.tar" >/dev/null || { echo "ctr image import $t failed"; exit 1; }
done

# pod.json NAME PID_MODE [PRIVILEGED [LINUX_EXTRA]]: a host-network pod (namespace modes:
# 0 POD, 1 CONTAINER, 2 NODE).
pod_json() {
  local priv=${3:-false}
  cat >"$work/$1.json" <<EOF
{"metadata": {"name": "$1", "namespace": "rdbox-test", "uid": "$1-$$", "attempt": 0},
 "log_directory": "$work/logs/$1",
 "linux": {"cgroup_parent": "/$cg", ${4:-}
           "security_context": {"privileged": $priv, "namespace_options": {"network": 2, "pid": $2, "ipc": 0}}}}
EOF
}
# ctr.json NAME PID_MODE COMMAND [LINUX_EXTRA]: a container of the busybox image.
ctr_json() {
  cat >"$work/$1.json" <<EOF
{"metadata": {"name": "$1"}, "image": {"image": "localhost/rdbox-test:1"},
 "command": ["sh", "-c", "$3"], "log_path": "$1.log",
 "linux": {${4:-} "security_context": {${5:-} "namespace_options": {"network": 2, "pid": $2}}}}
EOF
}
field() { cri inspect "$1" 2>/dev/null | sed -n "s/^    \"$2\": \"\{0,1\}\([^\",]*\).*/\1/p" | head -1; }
running='echo started; trap \"echo term; exit 0\" TERM; while :; do sleep 0.1; done'

# --- a pod whose containers share its PID namespace (shareProcessNamespace) ----------
pod_json shared 0
pod=$(cri runp --runtime rdbox "$work/shared.json") && ok "runp --runtime rdbox" || { fail "runp"; exit 1; }
handler=$(cri inspectp "$pod" | sed -n 's/.*"runtimeHandler": "\(.*\)".*/\1/p' | head -1)
[[ $(cri pods -q --state ready) == "$pod" && $handler == rdbox ]] && ok "pod ready, handler rdbox" ||
  fail "pod: [$(cri pods)] handler [$handler]"
ctr_json c1 0 "$running"
ctr_json c2 0 'exec sleep 1000'
c1=$(cri create "$pod" "$work/c1.json" "$work/shared.json") && cri start "$c1" >/dev/null && ok "create + start c1" ||
  fail "create + start c1"
c2=$(cri create "$pod" "$work/c2.json" "$work/shared.json") && cri start "$c2" >/dev/null && ok "create + start c2" ||
  fail "create + start c2"
[[ $(field "$c1" state) == CONTAINER_RUNNING ]] && ok "c1 running" || fail "c1: [$(field "$c1" state)]"

out=$(cri exec "$c1" echo hi 2>&1)
[[ $? == 0 && $out == hi ]] && ok "exec echo hi" || fail "exec echo hi: [$out]"
out=$(cri exec -s "$c1" echo hi 2>&1)
[[ $? == 0 && $out == hi ]] && ok "exec -s echo hi" || fail "exec -s echo hi: [$out]"
out=$(cri exec -s "$c1" sh -c 'echo out; exit 3' 2>&1)
[[ $? != 0 && $out == *"exited with 3"* ]] && ok "exec -s exit 3" || fail "exec -s exit 3: [$out]"
out=$(cri exec "$c1" sh -c 'exit 4' 2>&1)
[[ $? != 0 && $out == *"exit code 4"* ]] && ok "exec exit 4" || fail "exec exit 4: [$out]"
# The pod's PID namespace: PID 1 is the pause process, and c2 sees c1's process.
out=$(cri exec "$c1" sh -c 'tr "\0" " " </proc/1/cmdline' 2>&1)
[[ $out == "/pause " ]] && ok "c1 sees the pause process as PID 1" || fail "c1's PID 1: [$out]"
out=$(cri exec "$c2" ps -o pid,args 2>&1)
[[ $out == *"1 /pause"* && $out == *"trap"* ]] && ok "c2 sees the pause process and c1's" || fail "c2's ps: [$out]"
# What containerd mounts for a container: the pod's hosts, resolv.conf and /dev/shm.
out=$(cri exec "$c1" sh -c 'grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv;
  grep -c " /dev/shm " /proc/mounts; touch /dev/shm/x && echo shm' 2>&1)
[[ $out == $'1\nresolv\n1\nshm' || $out == $'2\nresolv\n1\nshm' ]] && ok "hosts, resolv.conf, /dev/shm" ||
  fail "containerd's mounts: [$out]"
out=$(cri logs "$c1" 2>&1)
[[ $out == started ]] && ok "logs" || fail "logs: [$out]"
# UpdateContainerResources: crictl update → rdbox update, read back from the host.
pid1=$(cri inspect "$c1" 2>/dev/null | sed -n 's/^ *"pid": \([0-9]*\).*/\1/p' | head -1)
# The limit's file: v1's memory hierarchy where the host has one, else the v2 directory.
limit=
mem=$(awk -F: '$2 == "memory" {print $3}' "/proc/$pid1/cgroup" 2>/dev/null)
[[ -n $mem ]] && limit=/sys/fs/cgroup/memory$mem/memory.limit_in_bytes
[[ -f $limit ]] || limit=/sys/fs/cgroup/unified$(awk -F: '$1 == "0" {print $3}' "/proc/$pid1/cgroup" 2>/dev/null)/memory.max
if [[ -n $pid1 && -f $limit ]]; then
  cri update --memory 67108864 "$c1" >/dev/null 2>&1
  got=$(cat "$limit")
  [[ $got == 67108864 ]] && ok "update --memory ($limit)" || fail "update --memory: [$got] in $limit"
else
  echo "skip update --memory: no memory cgroup found for pid [$pid1]"
fi
if command -v script >/dev/null; then
  out=$(timeout 30 script -qec "$crictl --config $work/crictl.yaml exec -it $c1 sh -c 'test -t 0 && test -t 1 && echo isatty'" /dev/null 2>&1)
  [[ $out == *isatty* ]] && ok "exec -it (a terminal)" || fail "exec -it: [$out]"
fi

# stop: SIGTERM (the trap exits 0), then c2 at once (SIGKILL: 137); both Exited.
cri stop --timeout 10 "$c1" >/dev/null && [[ $(field "$c1" state) == CONTAINER_EXITED && $(field "$c1" exitCode) == 0 ]] &&
  ok "stop c1: exited 0" || fail "stop c1: [$(field "$c1" state) $(field "$c1" exitCode)]"
out=$(cri logs "$c1" 2>&1)
[[ $out == $'started\nterm' ]] && ok "logs after stop" || fail "logs after stop: [$out]"
cri stop --timeout 0 "$c2" >/dev/null && [[ $(field "$c2" exitCode) == 137 ]] && ok "stop c2: 137" ||
  fail "stop c2: [$(field "$c2" state) $(field "$c2" exitCode)]"
[[ $(cri ps -a --state exited -q | sort) == $(printf '%s\n' "$c1" "$c2" | sort) ]] && ok "ps -a: both Exited" ||
  fail "ps -a: [$(cri ps -a)]"
[[ $(cri pods -q --state ready) == "$pod" ]] && ok "the pod outlives its containers" || fail "pod: [$(cri pods)]"
cri rm "$c1" "$c2" >/dev/null && [[ -z $(cri ps -aq) ]] && ok "rm" || fail "rm: [$(cri ps -a)]"
cri stopp "$pod" >/dev/null && cri rmp "$pod" >/dev/null && [[ -z $(cri pods -q) ]] && ok "stopp + rmp" ||
  fail "stopp + rmp: [$(cri pods)]"

# --- a pod whose containers have their own PID namespace; a read-only root, oomScoreAdj,
# a pod's sysctl (in its IPC namespace, which the container joins)
pod_json own 1 false '"sysctls": {"kernel.shm_rmid_forced": "1"},'
pod=$(cri runp --runtime rdbox "$work/own.json") || fail "runp own"
ctr_json c3 1 "$running" '"resources": {"oom_score_adj": 500},' '"readonly_rootfs": true,'
c3=$(cri create "$pod" "$work/c3.json" "$work/own.json") && cri start "$c3" >/dev/null || fail "create + start c3"
out=$(cri exec "$c3" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; cat /proc/1/oom_score_adj /proc/self/oom_score_adj;
  touch /x 2>/dev/null || echo ro; cat /proc/sys/kernel/shm_rmid_forced' 2>&1)
[[ $out == $'sh -c echo started; trap "echo term; exit 0" TERM; while :; do sleep 0.1; done \n500\n500\nro\n1' ]] &&
  ok "own PID namespace, oomScoreAdj 500 (init and exec), read-only root, sysctl" || fail "c3: [$out]"
[[ $(cat /proc/sys/kernel/shm_rmid_forced) == 0 ]] || fail "the pod's sysctl reached the host"
cri stop --timeout 10 "$c3" >/dev/null && [[ $(field "$c3" exitCode) == 0 ]] && ok "stop c3: exited 0" ||
  fail "stop c3: [$(field "$c3" state) $(field "$c3" exitCode)]"
cri rm "$c3" >/dev/null && cri stopp "$pod" >/dev/null && cri rmp "$pod" >/dev/null || fail "rm c3, pod own"

# --- a privileged container (every host device listed in linux.devices) ---------------
pod_json priv 2 true
pod=$(cri runp --runtime rdbox "$work/priv.json") || fail "runp priv"
ctr_json c4 2 'exec sleep 1000' '' '"privileged": true,'
c4=$(cri create "$pod" "$work/c4.json" "$work/priv.json") && cri start "$c4" >/dev/null || fail "create + start c4"
out=$(cri exec "$c4" sh -c 'test -c /dev/kmsg && echo kmsg; readlink /dev/ptmx' 2>&1)
[[ $out == $'kmsg\npts/ptmx' ]] && ok "privileged: host devices" || fail "privileged: [$out]"
cri stop --timeout 0 "$c4" >/dev/null && cri rm "$c4" >/dev/null && cri stopp "$pod" >/dev/null &&
  cri rmp "$pod" >/dev/null && ok "privileged: stop, rm, stopp, rmp" || fail "privileged: cleanup"

# Nothing left: no container state under the handler's --root, no cgroup, no mount.
left=$(ls -A "$work/rdbox-root/k8s.io" 2>/dev/null)
[[ -z $left ]] && ok "no rdbox state left" || fail "state left: $left"
for h in /sys/fs/cgroup/*/; do
  [[ -e $h$cg ]] && fail "cgroup left: $h$cg"
done
mounts=$(grep -c " $work/state/io.containerd.grpc" /proc/self/mountinfo)
[[ $mounts == 0 ]] && ok "no pod mount left" || fail "$mounts pod mounts left"
exit $status
