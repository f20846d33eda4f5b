#!/usr/bin/env bash
# cgroup v2 for real: this host keeps memory, pids and cpu on v1 (a hybrid), so the v2 code
# runs in a virtual machine. qemu's TCG emulation boots Debian's own kernel (6.1: also the
# older kernel for rdbox's fallbacks) with an initramfs of busybox, the static rdbox and
# the cases below; /init mounts cgroup2, enables +memory +pids +cpu, runs each case, prints
# one "CASE name ok|FAIL detail" line per case and powers off.
#
#   tests/vm/cgroup2.sh RDBOX_BINARY [TIMEOUT_SECONDS]
#
# Exit 0: every case passed; 1: a case failed or the VM never finished; 77: no qemu or no
# kernel here (ctest reports a skip).
set -uo pipefail
rdbox=${1:?usage: cgroup2.sh RDBOX_BINARY [TIMEOUT_SECONDS]}
limit=${2:-240}
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
busybox=$(command -v busybox || true)
[[ -x /bin/busybox ]] && busybox=/bin/busybox
if ! command -v qemu-system-x86_64 >/dev/null || [[ -z $kernel || ! -r $kernel ]] || [[ -z $busybox ]] ||
   ! command -v cpio >/dev/null; then
  echo "cgroup2.sh: needs qemu-system-x86, linux-image-amd64, busybox-static and cpio (scripts/setup installs them)"
  exit 77
fi
if ! file -L "$rdbox" | grep -q 'statically linked'; then
  echo "cgroup2.sh: $rdbox is not statically linked (the VM has no libraries)"
  exit 77
fi

work=$(mktemp -d /tmp/rdbox-vm.XXXXXX)
trap '[[ -n ${KEEP:-} ]] || rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,newroot,rootfs/bin,rootfs/proc,rootfs/dev,rootfs/sys,rootfs/tmp}
cp "$busybox" "$root/bin/busybox"
cp "$busybox" "$root/rootfs/bin/busybox"
for t in sh mount mkdir cat grep echo sleep dd ls poweroff sed true head wc tr ps cp switch_root touch; do
  ln -s busybox "$root/bin/$t"
  ln -s busybox "$root/rootfs/bin/$t"
done
cp "$rdbox" "$root/bin/rdbox"
# RDBOX_VM_BENCH=N: also time N interleaved runs with and without a cgroup (scripts/bench).
if [[ -n ${RDBOX_VM_BENCH:-} ]]; then
  src=$(cd "$(dirname "$0")/../.." && pwd)/scripts/bench
  cc -O2 -static -o "$root/bin/driver" "$src/driver.c" && cc -O2 -static -o "$root/bin/t" "$src/true.c"
  echo "${RDBOX_VM_BENCH}" > "$root/bench"
fi

cat > "$root/init" <<'EOF'
#!/bin/sh
export PATH=/bin
# The initramfs itself cannot be pivot_root'ed away from: move onto a tmpfs first.
if [ ! -e /stage2 ]; then
  mount -t tmpfs -o size=300m root /newroot
  cp -a /bin /rootfs /init /newroot/
  [ -e /bench ] && cp /bench /newroot/
  mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp
  touch /newroot/stage2
  exec switch_root /newroot /init
fi
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control
echo "VM controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "CASE $1 ok"; else echo "CASE $1 FAIL expected [$2] got [$3]"; fi
}
has() {  # has NAME NEEDLE TEXT
  case "$3" in *"$2"*) echo "CASE $1 ok";; *) echo "CASE $1 FAIL no [$2] in [$3]";; esac
}

out=$(rdbox run --report json --memory 32M --memory-swap 32M -- dd if=/dev/zero of=/dev/null bs=100M count=1 2>&1)
check oom_exit 137 "$?"
has oom_killed '"oom_killed":true' "$out"
has memory_on_v2 '"memory":2' "$out"

out=$(rdbox run --memory 32M --memory-swap 32M -- dd if=/dev/zero of=/dev/null bs=100M count=1 2>&1)
has oom_text '(out of memory)' "$out"

out=$(rdbox run --report json --pids 5 -- sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait' 2>&1)
has pids_hit '"pids_limit_hit":true' "$out"
has pids_on_v2 '"pids":2' "$out"

out=$(rdbox run --report none --cpus 0.5 --cpu-shares 512 -- sh -c 'p=$(cat /proc/self/cgroup); p=${p#0::}; cat /sys/fs/cgroup$p/cpu.max /sys/fs/cgroup$p/cpu.weight' 2>&1)
check cpu_max_and_weight "50000 100000
20" "$out"

out=$(rdbox run --report none --memory 64M -- sh -c 'p=$(cat /proc/self/cgroup); p=${p#0::}; cat /sys/fs/cgroup$p/memory.max' 2>&1)
check memory_max 67108864 "$out"

# A daemon that escapes the command: the library has no subreaper, the CLI does; either
# way nothing is left once rdbox returns (cgroup.kill).
rdbox run --report none --pids 20 -- sh -c 'sleep 300 & sleep 300 & echo started' >/dev/null 2>&1
sleep 1
check no_daemons_left 0 "$(ps 2>/dev/null | grep -c '[s]leep 300' | tr -d ' ' ; true)"

# A container on this kernel (6.1): defaults, a cgroup, a fresh /proc.
out=$(rdbox run --report none --rootfs /rootfs --pids 10 -- sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status; echo $$' 2>&1)
check container "NoNewPrivs:	1
Seccomp:	2
1" "$out"

# clone mode is born in the cgroup (clone3 CLONE_INTO_CGROUP); fork mode's stub joins it.
out=$(rdbox run --report json --pids 10 -- true 2>&1)
has joined_by_clone3 '"joined_by":"clone3"' "$out"
out=$(rdbox run --mode fork --report json --pids 10 -- sh -c 'cat /proc/self/cgroup' 2>&1)
has joined_by_stub '"joined_by":"stub"' "$out"
has fork_in_cgroup '0::/rdbox-' "$out"
out=$(rdbox run --report none --pids 10 -- cat /proc/self/cgroup 2>&1)
has clone3_in_cgroup '0::/rdbox-' "$out"

out=$(rdbox run --report none --cgroup-parent nope --pids 5 -- true 2>&1)
check bad_parent_125 125 "$?"

# The OCI runtime's pause/resume on v2: cgroup.freeze (this host's v1 freezer is
# tested by the integration tests). The container ticks into a file; frozen, it does not.
mkdir -p /oci
cat > /oci/config.json <<'JSON'
{"ociVersion":"1.0.2","root":{"path":"/rootfs"},"linux":{"cgroupsPath":"/ocip/c1","namespaces":[{"type":"pid"},{"type":"mount"}]},
 "process":{"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0},"args":["sh","-c","while :; do echo t >> /tmp/ticks; sleep 0.05; done"]},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"}]}
JSON
oci() { rdbox --root /tmp/oci "$@"; }
oci create --bundle /oci c1 </dev/null >/dev/null 2>&1 && oci start c1
sleep 0.5
out=$(oci pause c1 2>&1)
check oci_pause "" "$out"
has oci_paused '"status": "paused"' "$(oci state c1 2>&1)"
check oci_cgroup_freeze 1 "$(cat /sys/fs/cgroup/ocip/c1/cgroup.freeze 2>&1)"
n1=$(wc -l < /rootfs/tmp/ticks); sleep 0.5; n2=$(wc -l < /rootfs/tmp/ticks)
check oci_frozen "$n1" "$n2"
oci resume c1; sleep 0.5; n3=$(wc -l < /rootfs/tmp/ticks)
check oci_thawed yes "$([ "$n3" -gt "$n2" ] && echo yes || echo "no: $n2 then $n3")"
has oci_running '"status": "running"' "$(oci state c1 2>&1)"
oci pause c1; oci delete --force c1
check oci_delete_paused 0 "$?"
check oci_nothing_left "" "$(ls /tmp/oci; ls /sys/fs/cgroup | grep ocip)"

check no_cgroup_left "" "$(ls /sys/fs/cgroup | grep rdbox)"
if [ -e /bench ]; then
  n=$(cat /bench); echo "BENCH rounds $n"
  driver "$n" -- /bin/rdbox run --report none /bin/t ";;" /bin/rdbox run --report none --memory 256M --pids 1000 /bin/t ";;" \
    /bin/rdbox run --mode fork --report none --memory 256M --pids 1000 /bin/t | while read -r i med rest; do echo "BENCH $i $med"; done
fi
echo "VM DONE"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$work/initrd.gz"

log=$work/console.log
timeout --signal=KILL "$limit" qemu-system-x86_64 -m 512 -smp 2 -nographic -no-reboot -kernel "$kernel" \
  -initrd "$work/initrd.gz" -append "console=ttyS0 quiet panic=-1 rdinit=/init" </dev/null >"$log" 2>&1
grep -E "^(VM|CASE|BENCH) " "$log" | tr -d "\r"
if ! grep -q '^VM DONE' "$log"; then
  echo "cgroup2.sh: the VM did not finish within ${limit}s; its console:"
  tail -n 40 "$log"
  exit 1
fi
if grep -q '^CASE .* FAIL' "$log"; then exit 1; fi
grep -q '^CASE ' "$log" || exit 1
exit 0
