#!/bin/bash
# Built without rpm (-Drpm=disabled): the library and the generating CLI
# build and run; there are no kabi-deps-tools (check, symsets and
# weak-modules need librpm), and kabi-deps says so when asked for them.
#   test-without-rpm.sh SOURCE_ROOT
set -euo pipefail
src=$1
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
meson setup "$build" "$src" -Drpm=disabled -Dtests=false -Dman=disabled -Dreal_kernel_tests=disabled \
	-Ddebootstrap_tests=disabled -Dresolver_tests=disabled -Drpm_matrix=disabled >"$build/setup.log" 2>&1 ||
	{ cat "$build/setup.log"; echo "FAIL: meson setup -Drpm=disabled"; exit 1; }
ninja -C "$build" >"$build/ninja.log" 2>&1 || { tail -30 "$build/ninja.log"; echo "FAIL: build"; exit 1; }
fail=0
[ -x "$build/plugin/kabi-deps" ] || { echo "FAIL: no kabi-deps"; fail=1; }
[ ! -e "$build/plugin/kabi-deps-tools" ] || { echo "FAIL: kabi-deps-tools built without rpm"; fail=1; }
out=$("$build/plugin/kabi-deps" provides </dev/null) || { echo "FAIL: provides of nothing: exit $?"; fail=1; }
[ -z "$out" ] || { echo "FAIL: provides of nothing gave '$out'"; fail=1; }
for cmd in check symsets weak-modules; do
	status=0
	"$build/plugin/kabi-deps" "$cmd" --help >/dev/null 2>"$build/err" || status=$?
	if [ "$status" != 2 ] || ! grep -q "$cmd needs librpm.*built without rpm" "$build/err"; then
		echo "FAIL: kabi-deps $cmd without the tools: exit $status, '$(cat "$build/err")'"
		fail=1
	fi
done
[ "$fail" = 0 ] && echo "without rpm: libkabideps and kabi-deps, no tools, and kabi-deps check/symsets/weak-modules say why"
exit "$fail"
