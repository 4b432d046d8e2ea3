#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# One real distribution kernel against kabi-deps: fetch it (cached), then
# check every module's exports against its Module.symvers, its imports
# against modprobe --dump-modversions, and the dependencies of the whole tree.
#
#   test-real.sh KABI_DEPS REQUIRED ARCH [SUITE]
#
# REQUIRED is "enabled" (a kernel that cannot be fetched fails the test) or
# "auto" (it skips, exit 77).  Downloads are cached (tests/lib/cache-dir.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
kabi_deps=$1 required=$2 arch=$3 suite=${4:-}

cache=$("$here/../lib/cache-dir.sh")

status=0
paths=$("$here/fetch-kernel.sh" "$cache" "$arch" $suite) || status=$?
if [ $status -ne 0 ]; then
	if [ $status -eq 2 ] && [ "$required" != enabled ]; then
		echo "SKIP: no $arch ${suite:-default} kernel could be fetched (real_kernel_tests=auto)"
		exit 77
	fi
	echo "FAIL: fetching the $arch ${suite:-default} kernel failed ($status)"
	exit 1
fi
moddir=$(printf '%s\n' "$paths" | sed -n 1p)
symvers=$(printf '%s\n' "$paths" | sed -n 2p)
echo "kernel: $moddir"
exec python3 "$here/check-tree.py" --deps "$moddir" "$symvers" "$kabi_deps"
