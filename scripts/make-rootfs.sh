#!/usr/bin/env bash
# Builds a minimal root filesystem from Debian's busybox-static: busybox and its applet
# links, /etc/passwd, /etc/group and the usual empty directories. Idempotent.
# Usage: scripts/make-rootfs.sh [DIR]   (default: rootfs/)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-rootfs}
BUSYBOX=/bin/busybox
if [[ ! -x $BUSYBOX ]] || ! file -b "$BUSYBOX" 2>/dev/null | grep -q static; then
  [[ -x /usr/bin/busybox ]] && BUSYBOX=/usr/bin/busybox
fi
if [[ ! -x $BUSYBOX ]]; then
  echo "make-rootfs: busybox not found: apt-get install busybox-static" >&2
  exit 1
fi
mkdir -p "$DIR"
for d in bin sbin usr/bin usr/sbin etc proc sys dev tmp root home var/tmp run mnt; do mkdir -p "$DIR/$d"; done
chmod 1777 "$DIR/tmp" "$DIR/var/tmp"
if ! cmp -s "$BUSYBOX" "$DIR/bin/busybox"; then
  install -m 0755 "$BUSYBOX" "$DIR/bin/busybox"
fi
# One link per applet, where busybox itself says it installs it.
"$DIR/bin/busybox" --list-full | while read -r applet; do
  [[ -z $applet || $applet == bin/busybox ]] && continue
  target="$DIR/$applet"
  [[ -L $target || -e $target ]] && continue
  mkdir -p "$(dirname "$target")"
  ln -s /bin/busybox "$target"
done
cat > "$DIR/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$DIR/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
echo "rdbox" > "$DIR/etc/hostname"
chmod -R a+rX "$DIR"
echo "make-rootfs: $DIR ready ($(find "$DIR" -type l | wc -l) applet links)"
