#!/usr/bin/env bash
# Packs a root filesystem directory as an OCI image archive with one layer, for engines
# that take no registry: `ctr image import` (and `podman load`).
#   scripts/oci-image.sh ROOTFS NAME:TAG OUT.tar [CMD...]
# The image's name is in the index (io.containerd.image.name, and ref.name for the tag);
# CMD (default: sh) is the image config's Cmd.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 ROOTFS NAME:TAG OUT.tar [CMD...]" >&2; exit 2; }
rootfs=$1 name=$2 out=$3
shift 3
cmd=("${@:-sh}")
[[ -d $rootfs ]] || { echo "$0: $rootfs is not a directory" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

# One blob: its digest and size, stored under blobs/sha256.
blob() {
  local file=$1 digest
  digest=$(sha256sum "$file" | cut -d' ' -f1)
  mv "$file" "$work/blobs/sha256/$digest"
  echo "$digest $(stat -c %s "$work/blobs/sha256/$digest")"
}

tar --numeric-owner --owner=0 --group=0 --sort=name -C "$rootfs" --exclude=./README.md -cf "$work/layer" .
read -r layer layer_size < <(blob "$work/layer")
cmd_json=$(printf '"%s",' "${cmd[@]}")
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":[%s]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "${cmd_json%,}" "$layer" >"$work/config"
read -r config config_size < <(blob "$work/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest"
read -r manifest manifest_size < <(blob "$work/manifest")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$name" "${name##*:}" >"$work/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci-layout"
tar -C "$work" -cf "$out" oci-layout index.json blobs
