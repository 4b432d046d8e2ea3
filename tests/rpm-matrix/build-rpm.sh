#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds an upstream rpm from SRCDIR/../shared/vendor/rpm/rpm-VERSION.tar.xz
# ($KABI_DEPS_RPM_VENDOR to point elsewhere)
# once into the test cache (tests/lib/cache-dir.sh), with the Lua its
# distributions use, and prints its prefix (bin/rpm, bin/rpmbuild, lib/,
# lib/pkgconfig/rpm.pc) as the last line of stdout.
#
#   build-rpm.sh SRCDIR VERSION   VERSION: 4.14.3 | 4.16.1.3 | 4.19.1.1 | 6.0.2
#
# The cache entry is keyed by the version and the text of its recipe (the
# shell functions below): rpm-VERSION-KEY.  It is installed into a temporary place,
# moved into place and marked complete last (.complete); concurrent callers
# wait on a lock.  One line per
# step on stderr; each step's output goes to a log whose tail is printed
# when it fails.  Exit 77 (skip) when the sources or a build tool are not
# on this machine, 1 when the build fails.
#
# The builds, as RHEL/SUSE build them where it matters here, and otherwise
# as small as rpmbuild allows (no Python, plugins, NLS, SELinux, ...):
#   4.14.3 (RHEL 8, SLE 15): autotools, Berkeley DB, NSS digests (its
#          OpenSSL backend links MD2, which OpenSSL 3 lacks), Lua 5.3 with
#          LUA_COMPAT_5_1 (rpm 4.14 calls luaL_openlib, which Debian's
#          liblua5.3 lacks): built from Debian's lua5.3 source package and
#          linked statically, as RHEL 8 does;
#   4.16.1.3 (RHEL 9): autotools, sqlite (its default database, as RHEL 9's),
#          libgcrypt, Lua 5.4;
#   4.19.1.1 (RHEL 10, Fedora 40-42): cmake, sqlite, libgcrypt, Lua 5.4;
#   6.0.2 (Fedora 43+): the same, C++20 (g++ >= 13: Debian 13, not 12),
#          without Sequoia (no signature checking, which rpmbuild tests
#          do not need).
set -euo pipefail
src=$(cd "$1" && pwd)
version=$2
# shared/ sits beside the clone (CI), or beside the folder of worktrees
vendor=${KABI_DEPS_RPM_VENDOR:-}
if [ -z "$vendor" ]; then
	vendor=$src/../shared/vendor/rpm
	[ -d "$vendor" ] || [ ! -d "$src/../../shared/vendor/rpm" ] || vendor=$(cd "$src/../../shared/vendor/rpm" && pwd)
fi
mirror=${KABI_DEPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "build-rpm $version: $*" >&2; }
skip() { say "SKIP: $*"; exit 77; }

case $version in
4.14.3 | 4.16.1.3 | 4.19.1.1 | 6.0.2) ;;
*) echo "build-rpm: unknown version $version (4.14.3, 4.16.1.3, 4.19.1.1, 6.0.2)" >&2; exit 2 ;;
esac
tarball=$vendor/rpm-$version.tar.xz
[ -f "$tarball" ] || skip "no rpm sources at $tarball"
for tool in gcc make pkg-config flock; do
	command -v $tool >/dev/null || skip "$tool is not installed"
done
case $version in
4.19.1.1 | 6.0.2) for tool in cmake gawk; do command -v $tool >/dev/null || skip "$tool is not installed"; done ;;
*) for tool in autoreconf libtoolize autopoint; do command -v $tool >/dev/null || skip "$tool is not installed"; done ;;
esac
case $version in
4.14.3) pkg-config --exists nss && [ -f /usr/include/db.h ] ||
	skip "rpm 4.14 needs NSS and Berkeley DB headers (libnss3-dev, libdb5.3-dev)" ;;
*) pkg-config --exists lua5.4 || skip "rpm $version needs the Lua 5.4 headers (liblua5.4-dev)" ;;
esac
if [ "$version" = 6.0.2 ]; then
	gxx=$(g++ -dumpversion 2>/dev/null || echo 0)
	[ "${gxx%%.*}" -ge 13 ] || skip "rpm 6 needs C++20 <format>: g++ >= 13 (this is ${gxx})"
fi

# The steps of each version's build: what the cache key is made of.
# A Lua 5.3 with the 5.1 compatibility API, from Debian's own source.
lua_static() {
	local apt=$work/apt codename
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
	mkdir -p "$apt/lists/partial" "$apt/archives/partial"
	echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $codename main" \
		>"$apt/sources.list"
	local o=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o APT::Sandbox::User=root)
	step "apt-get update (a deb-src line of $codename, apart from the system's)" apt-get "${o[@]}" update
	step "apt-get source lua5.3" sh -c 'cd "$1" && shift && apt-get "$@" source lua5.3' sh "$work" "${o[@]}"
	local dir
	dir=$(find "$work" -maxdepth 1 -type d -name 'lua5.3-*' | head -n 1)
	[ -n "$dir" ] || { say "FAILED: no lua5.3 source unpacked"; exit 1; }
	# (Debian's Makefile makes shared libraries with libtool: the library
	# sources are compiled here, all but the lua and luac programs)
	step "compile Lua 5.3 (LUA_COMPAT_5_1, static)" sh -c 'cd "$1/src" && for c in *.c; do
		case $c in lua.c | luac.c) continue ;; esac
		gcc -O2 -g -fPIC -DLUA_COMPAT_5_1 -DLUA_USE_LINUX -c "$c" || exit 1
	done && ar rcs liblua-compat.a $(ls *.o)' sh "$dir"
	lua_cflags="-I$dir/src -DLUA_COMPAT_5_1"
	lua_libs="$dir/src/liblua-compat.a -lm -ldl"
}


recipe_4_14_3() {
	lua_static
	step "autoreconf" autoreconf -fi
	step "configure" ./configure --prefix="$prefix" --sysconfdir="$prefix/etc" \
		--localstatedir="$prefix/var" --with-crypto=nss --enable-bdb=yes --with-external-db \
		--disable-python --disable-plugins --without-selinux --without-cap --without-acl \
		--disable-nls --with-lua \
		CFLAGS="-O2 -g -fcommon $(pkg-config --cflags nss)" CPPFLAGS="$(pkg-config --cflags nss)" \
		LUA_CFLAGS="$lua_cflags" LUA_LIBS="$lua_libs"
	step "make" make -j"$jobs"
	step "make install" make install DESTDIR="$work/dest"
}

recipe_4_16_1_3() {
	# sqlite, as RHEL 9 (upstream's macros still say bdb, which is not built)
	step "%_db_backend sqlite" sed -i 's/^%_db_backend\([[:space:]]*\)bdb$/%_db_backend\1sqlite/' macros.in
	step "check %_db_backend" grep -q '^%_db_backend[[:space:]]*sqlite$' macros.in
	step "autoreconf" autoreconf -fi
	step "configure" ./configure --prefix="$prefix" --sysconfdir="$prefix/etc" \
		--localstatedir="$prefix/var" --with-crypto=libgcrypt --enable-sqlite=yes --enable-bdb=no \
		--enable-ndb=no --disable-python --disable-plugins --without-selinux --without-cap \
		--without-acl --disable-nls --with-lua CFLAGS="-O2 -g -fcommon" \
		LUA_CFLAGS="$(pkg-config --cflags lua5.4)" LUA_LIBS="$(pkg-config --libs lua5.4)"
	step "make" make -j"$jobs"
	step "make install" make install DESTDIR="$work/dest"
}

recipe_4_19_1_1() {
	step "cmake" cmake -S . -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWITH_INTERNAL_OPENPGP=ON -DENABLE_PYTHON=OFF \
		-DENABLE_NLS=OFF -DENABLE_PLUGINS=OFF -DWITH_SELINUX=OFF -DWITH_DBUS=OFF \
		-DWITH_AUDIT=OFF -DWITH_FAPOLICYD=OFF -DWITH_READLINE=OFF -DWITH_CAP=OFF \
		-DWITH_ACL=OFF -DENABLE_OPENMP=OFF -DENABLE_NDB=OFF -DENABLE_TESTSUITE=OFF \
		-DLUA_INCLUDE_DIR="$(pkg-config --variable=includedir lua5.4)/lua5.4" \
		-DLUA_LIBRARY="$(pkg-config --variable=libdir lua5.4)/liblua5.4.so"
	step "make" make -C "$work/build" -j"$jobs"
	# (made by gawk: without it, an empty table and an rpmbuild that knows no tag)
	step "check the tag table" grep -q RPMTAG_NAME "$work/build/lib/tagtbl.C"
	step "make install" make -C "$work/build" install DESTDIR="$work/dest"
}

recipe_6_0_2() {
	step "cmake" cmake -S . -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWITH_SEQUOIA=OFF -DENABLE_PYTHON=OFF \
		-DENABLE_NLS=OFF -DENABLE_PLUGINS=OFF -DWITH_SELINUX=OFF -DWITH_DBUS=OFF \
		-DWITH_AUDIT=OFF -DWITH_FAPOLICYD=OFF -DWITH_READLINE=OFF -DWITH_CAP=OFF \
		-DWITH_ACL=OFF -DENABLE_OPENMP=OFF -DENABLE_NDB=OFF -DENABLE_TESTSUITE=OFF \
		-DLUA_INCLUDE_DIR="$(pkg-config --variable=includedir lua5.4)/lua5.4" \
		-DLUA_LIBRARY="$(pkg-config --variable=libdir lua5.4)/liblua5.4.so"
	step "make" make -C "$work/build" -j"$jobs"
	# (made by gawk: without it, an empty table and an rpmbuild that knows no tag)
	step "check the tag table" grep -q RPMTAG_NAME "$work/build/lib/tagtbl.inc"
	step "make install" make -C "$work/build" install DESTDIR="$work/dest"
}

finish() { # staged install -> the prefix, with an rpm database of its own
	rm -rf "$prefix"
	mv "$work/dest$prefix" "$prefix"
	step "rpm --initdb" env LD_LIBRARY_PATH="$prefix/lib" "$prefix/bin/rpm" --initdb
	touch "$prefix/.complete"
}

recipe=recipe_${version//./_}
cache=$("$src/tests/lib/cache-dir.sh")
key=$({ declare -f "$recipe" finish; [ "$version" != 4.14.3 ] || declare -f lua_static; } |
	sha256sum | cut -c1-12)
prefix=$cache/rpm-$version-$key
exec 9>"$prefix.lock"
flock 9
if [ -e "$prefix/.complete" ]; then
	say "cached in $prefix"
	echo "$prefix"
	exit 0
fi

work=$(mktemp -d "$cache/rpm-$version-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$prefix.log
: >"$log"
step() { # what command...
	local what=$1
	shift
	say "$what"
	echo "== $what: $*" >>"$log"
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		say "FAILED: $what (whole log: $log)"
		exit 1
	fi
}
jobs=$(nproc 2>/dev/null || echo 2)

step "unpack $tarball" tar -C "$work" -xJf "$tarball"
cd "$work/rpm-$version"
"$recipe"
finish
say "built into $prefix"
echo "$prefix"
