#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The rpm-facing suites once more, inside a Debian 13 root made with
# debootstrap (kmod 34, a 6.12 kernel whose headers the example modules are
# built against), in one of two flavours:
#   debian13:  Debian's own rpm 4.20 (multifile protocol, debuginfo
#              packages; its Lua is 5.3, and 5.4's headers are there too,
#              to be passed over);
#   rpm-6.0.2: no Debian rpm; upstream rpm 6.0.2 (Fedora 43+; it refuses
#              posix.fork in rpmbuild's Lua) built in the root with its
#              g++ 14 (C++20; Debian 12's g++ 12 cannot) by
#              tests/rpm-matrix/build-rpm.sh, with Lua 5.4, and the suites
#              run with it (tests/rpm-matrix/test-rpm-matrix.sh).  Debian
#              sid's own rpm 6 is no use here: sid's kernel is built
#              without CONFIG_MODVERSIONS, so its modules have no CRCs.
# This machine's rpm (4.18) cannot show those paths.
#
#   test-debian-root.sh SRCDIR REQUIRED FLAVOUR [MESON-TEST-ARGUMENTS...]
#
# REQUIRED "enabled": a root that cannot be made fails; "auto": skip (77).
# The root is cached next to the kernels (tests/lib/cache-dir.sh) as
# debian13-amd64 or debian13-rpm-6.0.2-amd64, and made again when the
# package list below changes.  Without MESON-TEST-ARGUMENTS: the suites
# example, rpm, symsets, check and triggers.
set -eu
src=$(cd "$1" && pwd)
required=$2
flavour=$3
shift 3
[ $# -gt 0 ] || set -- --suite example --suite rpm --suite symsets --suite check --suite triggers
mirror=${KABI_DEPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
common="liblua5.4-dev meson ninja-build gcc libc6-dev make pkg-config
	libelf-dev liblzma-dev libzstd-dev zlib1g-dev libkmod-dev kmod check libarchive-dev
	python3 xz-utils zstd gzip cpio file linux-headers-amd64"
case $flavour in
debian13)
	name=debian13
	packages="rpm librpm-dev liblua5.3-dev $common scdoc"
	;;
rpm-6.0.2)
	name=debian13-rpm-6.0.2
	packages="$common g++ cmake gawk libpopt-dev libmagic-dev libsqlite3-dev libgcrypt20-dev
		libbz2-dev libdw-dev scdoc"
	;;
*) echo "test-debian-root: unknown flavour $flavour (debian13, rpm-6.0.2)" >&2; exit 2 ;;
esac
suite=trixie

skip() {
	if [ "$required" = enabled ]; then echo "FAIL: $*"; exit 1; fi
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root for debootstrap and chroot"
[ "$(uname -m)" = x86_64 ] || skip "the Debian $suite root is made for amd64"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"

root=$("$src/tests/lib/cache-dir.sh")/$name-amd64
want=$(echo "$mirror" $packages | tr -s ' \t\n' ' ')
if [ "$(cat "$root/.kabi-deps-root" 2>/dev/null)" != "$want" ]; then
	echo "making a Debian $suite root in $root (about a minute)"
	rm -rf "$root.new"
	# shellcheck disable=SC2086
	debootstrap --variant=minbase --include="$(echo $packages | tr ' ' ',')" \
		"$suite" "$root.new" "$mirror" >"$root.log" 2>&1 ||
		{ tail -n 20 "$root.log"; rm -rf "$root.new"; skip "debootstrap $suite failed (see above)"; }
	rm -rf "$root"
	mv "$root.new" "$root"
	echo "$want" >"$root/.kabi-deps-root"
fi

# A fresh copy of the sources (tracked and new files, no build trees).
rm -rf "$root/src/kabi-deps"
"$src/tests/lib/copy-sources.sh" "$src" "$root/src/kabi-deps"
if [ "$flavour" != debian13 ]; then
	# the upstream rpm sources, found as build-rpm.sh finds them
	vendor=$src/../shared/vendor/rpm
	[ -d "$vendor" ] || vendor=$src/../../shared/vendor/rpm
	tarball=$vendor/$flavour.tar.xz
	[ -f "$tarball" ] || skip "no rpm sources at $tarball"
	mkdir -p "$root/src/vendor-rpm"
	cp "$tarball" "$root/src/vendor-rpm/"
fi

cleanup() {
	umount "$root/proc" 2>/dev/null || true
	umount "$root/dev" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

# The commands are fixed text: no path from outside goes through the shell
# (the meson test arguments are passed as arguments).
if [ "$flavour" = debian13 ]; then
	chroot "$root" /bin/sh -euc '
		rpm --version; kmod --version | head -n 1
		cd /src/kabi-deps
		rm -rf /tmp/build
		meson setup /tmp/build --prefix=/usr -Dreal_kernel_tests=disabled \
			-Ddebootstrap_tests=disabled -Drpm_matrix=disabled >/tmp/setup.log 2>&1 ||
			{ cat /tmp/setup.log; exit 1; }
		grep "rpmbuild runs kabi-deps" /tmp/setup.log
		ninja -C /tmp/build >/dev/null
		meson test -C /tmp/build --print-errorlogs "$@"
	' sh "$@"
else
	chroot "$root" /bin/sh -euc '
		kmod --version | head -n 1
		version=$1
		shift
		KABI_DEPS_RPM_VENDOR=/src/vendor-rpm exec /src/kabi-deps/tests/rpm-matrix/test-rpm-matrix.sh \
			/src/kabi-deps /tmp/build enabled "$version" "$@"
	' sh "${flavour#rpm-}" "$@"
fi
