#!/usr/bin/env bash
# Builds crictl (kubernetes-sigs/cri-tools) offline from a checkout, for
# tests/integration/cri_test.sh and for trying rdbox as containerd's CRI runtime handler.
# crictl is not packaged by Debian; cri-tools v1.26.1 builds with Debian's Go 1.19 from its
# vendor/ directory, no network needed.
#   scripts/cri-setup.sh CRI_TOOLS_DIR [REF] [OUT_DIR]
# CRI_TOOLS_DIR: a git checkout (or a bare repository) of cri-tools; REF: the tag or commit
# to build (default v1.26.1); OUT_DIR: where crictl goes (default CRI_TOOLS_DIR/../cri-tools-bin,
# or the work tree when CRI_TOOLS_DIR is a bare repository).
# Then: CRICTL=OUT_DIR/crictl ctest -R oci.cri
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: $0 CRI_TOOLS_DIR [REF] [OUT_DIR]" >&2; exit 2; }
repo=$(realpath "$1") ref=${2:-v1.26.1}
out=${3:-$(dirname "$repo")/cri-tools-bin}
command -v go >/dev/null || { echo "$0: no go (apt-get install golang-go)" >&2; exit 1; }
commit=$(git -C "$repo" rev-parse --verify "$ref^{commit}") ||
  { echo "$0: $ref is not in $repo" >&2; exit 1; }

# A private work tree of that commit: the checkout given is left as it is.
src=$(mktemp -d /tmp/cri-tools-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
git -C "$repo" archive "$commit" | tar -x -C "$src"
[[ -d $src/vendor ]] || { echo "$0: $ref has no vendor/ directory (offline build needs it)" >&2; exit 1; }

version=$(git -C "$repo" describe --tags --always "$commit")
mkdir -p "$out"
(cd "$src" &&
  CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off GOCACHE=${GOCACHE:-$src/.gocache} \
    go build -trimpath -ldflags "-X github.com/kubernetes-sigs/cri-tools/pkg/version.Version=${version#v}" \
    -o "$out/crictl" ./cmd/crictl)
"$out/crictl" --version
echo "crictl: $out/crictl (cri-tools $version, commit $commit)"
