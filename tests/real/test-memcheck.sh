#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# valgrind memcheck of the CLI on real modules of a fetched kernel: provides
# and requires (with its Module.symvers) over a sample of the tree, plain or
# .ko.xz.  Any error or definite/indirect leak fails.
#
#   test-memcheck.sh KABI_DEPS REQUIRED ARCH [SUITE]     (as test-real.sh)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kabi_deps=$1 required=$2 arch=$3 suite=${4:-}
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
cache=$("$here/../lib/cache-dir.sh")
status=0
paths=$("$here/fetch-kernel.sh" "$cache" "$arch" $suite) || status=$?
if [ $status -ne 0 ]; then
	[ $status -eq 2 ] && [ "$required" != enabled ] && { echo "SKIP: no kernel to fetch"; exit 77; }
	exit 1
fi
moddir=$(printf '%s\n' "$paths" | sed -n 1p)
symvers=$(printf '%s\n' "$paths" | sed -n 2p)
list=$(mktemp)
trap 'rm -f "$list"' EXIT
# every 15th module: a few hundred, all kinds of drivers
find "$moddir" -name '*.ko*' -type f | sort | awk 'NR % 15 == 1' >"$list"
echo "$(wc -l <"$list") modules of $moddir"
for cmd in "provides --multifile" "requires --multifile --symvers $symvers"; do
	# shellcheck disable=SC2086
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect "$kabi_deps" $cmd <"$list" >/dev/null 2>"$list.err" ||
		{ cat "$list.err"; echo "FAIL: memcheck of kabi-deps ${cmd%% *}"; rm -f "$list.err"; exit 1; }
	grep -v '^kabi-deps: warning' "$list.err" | head -n 5 || true
	echo "ok   memcheck of kabi-deps ${cmd%% *}: no errors, no leaks"
done
rm -f "$list.err"
