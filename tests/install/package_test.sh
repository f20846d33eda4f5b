#!/usr/bin/env bash
# `cpack -G DEB` from the build directory, then: the packages declare their dependencies,
# hold what they should, and `rdbox --version` runs from the rdbox .deb unpacked with
# dpkg -x into a throwaway root. Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/rdbox-package-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "package test: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack -G DEB failed"; }
deb=$(ls "$tmp"/out/rdbox_*.deb 2>/dev/null | head -1)
dev=$(ls "$tmp"/out/rdbox-dev_*.deb 2>/dev/null | head -1)
[[ -n $deb ]] || { ls "$tmp/out"; fail "no rdbox_*.deb"; }
[[ -n $dev ]] || { ls "$tmp/out"; fail "no rdbox-dev_*.deb"; }

[[ $(dpkg-deb -f "$deb" Package) == rdbox ]] || fail "package name: $(dpkg-deb -f "$deb" Package)"
dpkg-deb -f "$deb" Recommends | grep -q uidmap || fail "rdbox does not recommend uidmap"
for dep in libcap-ng-dev libseccomp-dev; do
  dpkg-deb -f "$dev" Depends | grep -q "$dep" || fail "rdbox-dev does not depend on $dep"
done
if file "$build/rdbox" | grep -q "dynamically linked"; then
  dpkg-deb -f "$deb" Depends | grep -q libcap-ng0 || fail "a dynamic rdbox must depend on libcap-ng0"
fi
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/rdbox ./usr/share/bash-completion/completions/rdbox ./usr/share/zsh/vendor-completions/_rdbox; do
  grep -q " $f\$" <<<"$contents" || fail "$f missing from $(basename "$deb")"
done
if ls "$build"/man/*.1 >/dev/null 2>&1; then
  grep -q " ./usr/share/man/man1/rdbox-run.1\$" <<<"$contents" || fail "man pages missing from $(basename "$deb")"
fi
dpkg-deb -c "$dev" | grep -q "/rdbox.pc\$" || fail "rdbox.pc missing from $(basename "$dev")"

dpkg -x "$deb" "$tmp/root"
version=$("$tmp/root/usr/bin/rdbox" --version) || fail "rdbox --version from the .deb failed"
expected="rdbox version $(dpkg-deb -f "$deb" Version)"
[[ $version == "$expected"$'\n'* ]] || fail "rdbox --version says \"$version\", the package is $expected"
if rev=$(git -C "$src" rev-parse --short=12 HEAD 2>/dev/null); then
  [[ $version == *$'\n'"commit: $rev"$'\n'* ]] || fail "rdbox --version says \"$version\", HEAD is $rev"
else
  [[ $version == *$'\n'"commit: unknown"$'\n'* ]] || fail "rdbox --version says \"$version\" outside git"
fi
"$tmp/root/usr/bin/rdbox" run --report none -- /bin/true || fail "the packaged rdbox cannot run /bin/true"
echo "package test: ok ($(basename "$deb"), $(basename "$dev"); ${version//$'\n'/, })"
