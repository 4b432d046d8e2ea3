#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The rpm-facing suites once more, inside a Debian 13 root made with
# debootstrap: rpm 4.20 (multifile protocol, debuginfo packages; its Lua is
# 5.3, and 5.4's headers are there too, to be passed over), kmod 34, a 6.12
# kernel whose headers the example modules are built against.  This
# machine's rpm (4.18) cannot show those paths.
#
#   test-debian13.sh SRCDIR REQUIRED
#
# REQUIRED "enabled": a root that cannot be made fails; "auto": skip (77).
# The root is cached next to the kernels (tests/lib/cache-dir.sh) and made
# again when the package list below changes.
set -eu
src=$(cd "$1" && pwd)
required=$2
mirror=${KABI_DEPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages="rpm librpm-dev liblua5.3-dev liblua5.4-dev meson ninja-build gcc libc6-dev make pkg-config
	libelf-dev liblzma-dev libzstd-dev zlib1g-dev libkmod-dev kmod check libarchive-dev
	python3 xz-utils zstd gzip cpio file linux-headers-amd64"

skip() {
	if [ "$required" = enabled ]; then echo "FAIL: $*"; exit 1; fi
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root for debootstrap and chroot"
[ "$(uname -m)" = x86_64 ] || skip "the Debian 13 root is made for amd64"
command -v debootstrap >/dev/null || skip "debootstrap is not installed"

root=$("$src/tests/lib/cache-dir.sh")/debian13-amd64
want=$(echo "$mirror" $packages | tr -s ' \t\n' ' ')
if [ "$(cat "$root/.kabi-deps-root" 2>/dev/null)" != "$want" ]; then
	echo "making a Debian 13 root in $root (about a minute)"
	rm -rf "$root.new"
	# shellcheck disable=SC2086
	debootstrap --variant=minbase --include="$(echo $packages | tr ' ' ',')" \
		trixie "$root.new" "$mirror" >"$root.log" 2>&1 ||
		{ tail -n 20 "$root.log"; rm -rf "$root.new"; skip "debootstrap trixie failed (see above)"; }
	rm -rf "$root"
	mv "$root.new" "$root"
	echo "$want" >"$root/.kabi-deps-root"
fi

# A fresh copy of the sources (tracked and new files, no build trees).
rm -rf "$root/src/kabi-deps"
"$src/tests/lib/copy-sources.sh" "$src" "$root/src/kabi-deps"

cleanup() {
	umount "$root/proc" 2>/dev/null || true
	umount "$root/dev" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

# The command is fixed text: no path from outside goes through the shell.
chroot "$root" /bin/sh -euc '
	rpm --version; kmod --version | head -n 1
	cd /src/kabi-deps
	rm -rf /tmp/build
	meson setup /tmp/build --prefix=/usr -Dreal_kernel_tests=disabled \
		-Ddebootstrap_tests=disabled >/tmp/setup.log 2>&1 || { cat /tmp/setup.log; exit 1; }
	grep "rpmbuild runs kabi-deps" /tmp/setup.log
	ninja -C /tmp/build >/dev/null
	meson test -C /tmp/build --print-errorlogs --suite example --suite rpm --suite symsets --suite check \
		--suite triggers
'
