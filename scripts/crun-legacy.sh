#!/bin/sh
# crun as runtime-tools' suite measures it on a hybrid-cgroup host: crun 1.8 refuses hybrid
# mode ("drop all controllers from cgroupv2"), so the v2 mount is hidden first, in the
# private mount namespace scripts/oci-validation.sh gives each test; crun then runs in
# legacy v1 mode. Usage: scripts/oci-validation.sh RT_DIR scripts/crun-legacy.sh
umount /sys/fs/cgroup/unified 2>/dev/null
exec "${CRUN:-/usr/bin/crun}" "$@"
