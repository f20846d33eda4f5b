#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then what a user of the installed tree does:
# rdbox --version, man -l on each page, the bash completion, and a small program built
# against the library with pkg-config and with CMake (find_package(rdbox)) that runs a
# sandboxed command. Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/rdbox-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install failed"; }
[[ -x $prefix/bin/rdbox ]] || fail "no bin/rdbox"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
case $build_type in
  Release | RelWithDebInfo | MinSizeRel)
    file "$prefix/bin/rdbox" | grep -q "not stripped" && fail "bin/rdbox ($build_type) is not stripped"
    [[ -f $build/rdbox.debug ]] || fail "no build/rdbox.debug ($build_type)" ;;
esac
for h in run.hpp spec.hpp outcome.hpp report.hpp; do
  [[ -f $prefix/include/rdbox/$h ]] || fail "no include/rdbox/$h"
done
lib=$(find "$prefix" -name librdbox.a | head -1)
[[ -n $lib ]] || fail "no librdbox.a"
pc=$(find "$prefix" -name rdbox.pc | head -1)
[[ -n $pc ]] || fail "no rdbox.pc"
[[ -n $(find "$prefix" -name rdboxConfig.cmake) ]] || fail "no rdboxConfig.cmake"
[[ -f $prefix/share/bash-completion/completions/rdbox ]] || fail "no bash completion"
[[ -f $prefix/share/zsh/vendor-completions/_rdbox ]] || fail "no zsh completion"

[[ $("$prefix/bin/rdbox" --version) =~ ^rdbox\ version\ [0-9]+\.[0-9]+\.[0-9]+$'\n'commit:\ ([0-9a-f]{12}|unknown)$'\n'spec:\ 1\.[0-9]+\.[0-9]+$ ]] ||
  fail "rdbox --version: $("$prefix/bin/rdbox" --version)"
bash -c "source '$prefix/share/bash-completion/completions/rdbox'; complete -p rdbox" | grep -q -- '-F _rdbox rdbox' ||
  fail "the bash completion does not register"

if [[ -d $build/man ]] && ls "$build"/man/*.1 >/dev/null 2>&1; then
  for page in rdbox rdbox-run rdbox-compare rdbox-pipeline rdbox-doctor; do
    f=$prefix/share/man/man1/$page.1
    [[ -f $f ]] || fail "no $f"
    if command -v man >/dev/null; then
      out=$(MANWIDTH=100 man -l "$f" 2>&1) || fail "man -l $page.1 failed"
      grep -q "^NAME" <<<"$out" || fail "man -l $page.1 has no NAME section"
      grep -q "$page" <<<"$out" || fail "man -l $page.1 does not name $page"
    fi
  done
else
  echo "install test: built without a man page converter, pages not checked"
fi

expect_run() {  # what the consumer program must print
  local out=$1
  grep -q '^inside rdbox-consumer$' <<<"$out" || fail "consumer ($2) output: $out"
  grep -Eq '^[0-9]+ exited with status 0$' <<<"$out" || fail "consumer ($2) report: $out"
}

# pkg-config: the .pc file finds its prefix from where it is installed.
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs rdbox) || fail "pkg-config rdbox failed"
c++ -std=c++20 -o "$tmp/consumer-pc" "$src/tests/install/consumer/consumer.cpp" $flags ||
  fail "building against rdbox.pc failed (flags: $flags)"
out=$("$tmp/consumer-pc") || fail "consumer (pkg-config) exited $?: $out"
expect_run "$out" pkg-config

# CMake: find_package(rdbox) → rdbox::rdbox.
cmake -S "$src/tests/install/consumer" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "configuring the consumer failed"; }
cmake --build "$tmp/cmake-build" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "building the consumer failed"; }
out=$("$tmp/cmake-build/consumer") || fail "consumer (cmake) exited $?: $out"
expect_run "$out" cmake
echo "install test: ok ($prefix: binary, headers, library, rdbox.pc, CMake config, pages, completions)"
