#!/bin/bash
# Build the example kmod (the Driver Update Program's kmp.ko) against the
# installed kernel headers and print the dependencies kabi-deps gives it.
# usage: examples/run-example.sh BUILDDIR
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:-$top/build}" && pwd)
kabi_deps=$builddir/plugin/kabi-deps

kbuild=$(ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)
if [ -z "$kbuild" ] || [ ! -f "$kbuild/Module.symvers" ]; then
	echo "run-example: no kernel headers with Module.symvers under /lib/modules/*/build" >&2
	exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$top/examples/kmp/hello.c" "$top/examples/kmp/Kbuild" "$work/"
make -s -C "$kbuild" M="$work" modules >/dev/null 2>&1 || make -C "$kbuild" M="$work" modules
echo "== example kmod: kmp.ko built against $kbuild"
echo "== Provides"
"$kabi_deps" provides "$work/kmp.ko"
echo "== Requires"
"$kabi_deps" requires "$work/kmp.ko"
