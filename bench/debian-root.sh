#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs a benchmark of bench/ with an rpm this machine does not have, inside
# one of the Debian 13 roots the tests make (tests/lib/test-debian-root.sh;
# run its suite once first: meson test -C build --suite debian13, or
# tests/lib/test-debian-root.sh . auto rpm-6.0.2):
#   debian13:  Debian's rpm 4.20 (bench/rpmbuild.py, bench/kernel-package.py);
#   rpm-6.0.2: upstream rpm 6.0.2 as the matrix built it there
#              (bench/rpmbuild.py, given --rpm).
#
#   bench/debian-root.sh FLAVOUR BENCHMARK [ARGUMENTS...]
#   e.g. bench/debian-root.sh debian13 rpmbuild.py --generator lua --replay
#
# The current sources are copied into the root and its kabi-deps build
# brought up to date with ninja; the kernels the benchmarks use (amd64,
# trixie-amd64) come from this machine's cache (tests/lib/cache-dir.sh),
# bound into the root at the same path, so that nothing is fetched twice.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 debian13|rpm-6.0.2 BENCHMARK [ARGUMENTS...]" >&2; exit 2; }
flavour=$1
benchmark=$2
shift 2
case $flavour in
debian13) name=debian13 ;;
rpm-6.0.2) name=debian13-rpm-6.0.2 ;;
*) echo "debian-root: unknown flavour $flavour (debian13, rpm-6.0.2)" >&2; exit 2 ;;
esac
case $benchmark in
*/* | "") echo "debian-root: a benchmark of bench/, by its name (rpmbuild.py)" >&2; exit 2 ;;
esac
[ -f "$src/bench/$benchmark" ] || { echo "debian-root: no bench/$benchmark" >&2; exit 2; }
cache=$("$src/tests/lib/cache-dir.sh")
root=$cache/$name-amd64
[ -f "$root/.kabi-deps-root" ] || {
	echo "debian-root: no root at $root (run the tests' $flavour suite first)" >&2
	exit 1
}

rm -rf "$root/src/kabi-deps"
"$src/tests/lib/copy-sources.sh" "$src" "$root/src/kabi-deps"
kernels="amd64 trixie-amd64"
cleanup() {
	for k in $kernels; do umount "$root$cache/$k" 2>/dev/null || true; done
	umount "$root/proc" 2>/dev/null || true
	umount "$root/dev" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
for k in $kernels; do
	mkdir -p "$cache/$k" "$root$cache/$k"
	mount --bind "$cache/$k" "$root$cache/$k"
done

# Fixed text: the arguments are passed as arguments, never through a shell.
chroot "$root" /bin/sh -euc '
	flavour=$1
	benchmark=$2
	shift 2
	if [ "$flavour" = debian13 ]; then
		build=/tmp/build
		set -- --build "$build" "$@"
	else
		# the last of each (directories only, not their .log and .lock)
		for d in /tmp/build/rpm-matrix/rpm-6.0.2-*/; do build=${d%/}; done
		for d in "$(/src/kabi-deps/tests/lib/cache-dir.sh)"/rpm-6.0.2-*/; do prefix=${d%/}; done
		# as tests/rpm-matrix/test-rpm-matrix.sh configured the build
		export PATH=$prefix/bin:$PATH PKG_CONFIG_PATH=$prefix/lib/pkgconfig
		set -- --build "$build" --rpm "$prefix" "$@"
	fi
	[ -f "$build/build.ninja" ] || { echo "debian-root: no kabi-deps build at $build" >&2; exit 1; }
	ninja -C "$build" >/dev/null || { echo "debian-root: ninja -C $build failed" >&2; exit 1; }
	exec python3 "/src/kabi-deps/bench/$benchmark" "$@"
' sh "$flavour" "$benchmark" "$@"
