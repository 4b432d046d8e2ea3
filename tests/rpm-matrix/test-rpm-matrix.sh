#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# kabi-deps on the rpm of a distribution it targets, built from upstream
# source into the test cache (build-rpm.sh): configured against that rpm
# (its pkg-config, its `rpm --eval` directories, the headers of its Lua),
# built, and the rpm-facing suites run with its rpm and rpmbuild first on
# PATH.
#
#   test-rpm-matrix.sh SRCDIR BUILDDIR REQUIRED VERSION [MESON-TEST-ARGUMENTS...]
#
# REQUIRED "enabled": an rpm that cannot be built here fails; "auto": skip
# (77).  The kabi-deps build goes to BUILDDIR/rpm-matrix/rpm-VERSION-KEY; its
# log too, printed when configuring or building fails.
set -uo pipefail
src=$(cd "$1" && pwd)
builddir=$2
required=$3
version=$4
shift 4
[ $# -gt 0 ] || set -- --suite example --suite rpm --suite symsets --suite check --suite triggers
say() { echo "matrix rpm $version: $*"; }

prefix=$("$src/tests/rpm-matrix/build-rpm.sh" "$src" "$version" | tail -n 1)
rc=${PIPESTATUS[0]}
if [ "$rc" -eq 77 ]; then
	[ "$required" != enabled ] || { say "FAIL: rpm $version cannot be built here (-Drpm_matrix=enabled)"; exit 1; }
	exit 77
fi
[ "$rc" -eq 0 ] || exit 1

export PATH=$prefix/bin:$PATH
export LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
say "$(rpm --version), $(rpm --eval '%{lua: print(_VERSION)}'), rpmbuild $(command -v rpmbuild)"

# one build per rpm build (a new recipe is a new prefix: meson keeps the
# old one's paths otherwise)
build=$builddir/rpm-matrix/${prefix##*/}
mkdir -p "$build"
log=$build.log
# The attr, macro and Lua directories come from that rpm's own `rpm --eval`.
if [ -f "$build/build.ninja" ]; then
	step=(meson setup --reconfigure "$build" "$src")
else
	step=(meson setup "$build" "$src")
fi
say "meson setup (log: $log)"
if ! "${step[@]}" --prefix=/usr -Dtests=false -Dreal_kernel_tests=disabled \
	-Ddebootstrap_tests=disabled -Drpm_matrix=disabled >"$log" 2>&1; then
	tail -n 30 "$log"
	say "FAIL: meson setup against rpm $version"
	exit 1
fi
grep "rpmbuild runs kabi-deps" "$log"
say "ninja"
if ! ninja -C "$build" >>"$log" 2>&1; then
	tail -n 30 "$log"
	say "FAIL: building against rpm $version"
	exit 1
fi
# On rpm >= 4.16 the headers of its Lua are needed, unless the slow path is
# asked for: configuring without them (no lua*.pc) fails and says why.
if [ "$version" != 4.14.3 ]; then
	nolua=$build-nolua
	rm -rf "$nolua" "$nolua.pc"
	mkdir -p "$nolua.pc"
	for dir in $(pkg-config --variable pc_path pkg-config | tr : ' ') "$PKG_CONFIG_PATH"; do
		for pc in "$dir"/*.pc; do
			case ${pc##*/} in lua*) ;; *) [ -e "$pc" ] && ln -sf "$pc" "$nolua.pc/" ;; esac
		done
	done
	out=$(PKG_CONFIG_LIBDIR=$nolua.pc meson setup "$nolua" "$src" -Dtests=false -Drpm_matrix=disabled 2>&1)
	if [ $? -ne 0 ] && grep -q "headers of its Lua .* are not installed" <<<"$out"; then
		say "ok: without the Lua headers, configuring fails and says what to install"
	else
		say "FAIL: configuring without the Lua headers did not fail with a message"
		tail -n 5 <<<"$out"
		exit 1
	fi
	rm -rf "$nolua"
	if PKG_CONFIG_LIBDIR=$nolua.pc meson setup "$nolua" "$src" -Dtests=false -Drpm_matrix=disabled \
		-Drpm_generator=singlefile >/dev/null 2>&1; then
		say "ok: ... and configures with -Drpm_generator=singlefile"
	else
		say "FAIL: without the Lua headers, -Drpm_generator=singlefile does not configure"
		exit 1
	fi
	rm -rf "$nolua" "$nolua.pc"
fi

say "meson test $*"
meson test -C "$build" --print-errorlogs "$@"
