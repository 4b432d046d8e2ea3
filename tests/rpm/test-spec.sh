#!/bin/bash
# packaging/kabi-deps.spec builds kabi-deps as RPMs with this machine's
# rpmbuild (its %check runs the unit suite), and the packages hold what
# rpm needs: the attr, macros and Lua glue where rpm reads them, the
# library they load, the file triggers of kabi-deps-triggers; the packaged
# CLI runs; rpmlint with the project's Fedora and openSUSE configurations
# finds nothing that packaging/kabi-deps.rpmlintrc does not list with its
# reason.
# BuildRequires name Fedora/SUSE packages, which a Debian rpm database does
# not hold: --nodeps.  The sources are those of the work
# tree (tests/lib/copy-sources.sh), uncommitted changes included.
# usage: test-spec.sh SRCDIR
set -uo pipefail # no -e: every check reports
src=$(cd "$1" && pwd)
spec=$src/packaging/kabi-deps.spec
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
. "$src/tests/lib/checks.sh"

version=$(rpmspec -q --srpm --qf '%{version}\n' "$spec")
meson_version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n 1)
[ "$version" = "$meson_version" ]; check $? "spec Version $version is meson's $meson_version"

# The sources as they are in the work tree, as a release tarball.
mkdir -p "$top/SOURCES"
"$src/tests/lib/copy-sources.sh" "$src" "$top/stage/kabi-deps-$version"
tar -C "$top/stage" -czf "$top/SOURCES/kabi-deps-$version.tar.gz" "kabi-deps-$version"

# rpm on Fedora/RHEL/SUSE gets %meson from meson's own macros; where it
# is missing (Debian), a minimal copy of them.
args=(--define "_topdir $top" --nodeps)
if [ "$(rpm --eval '%{?meson:yes}')" != yes ]; then
	if rpmbuild --help | grep -q -- '--load='; then
		args+=(--load "$src/tests/rpm/data/macros.meson")
	else # rpm < 4.15: its own macro path, then that file (before any --define)
		args=(--macros "$(rpm --showrc | sed -n 's/^Macro path: //p'):$src/tests/rpm/data/macros.meson"
			"${args[@]}")
	fi
fi
# rpm >= 4.18 takes find-debuginfo from debugedit, which may be missing
# (the Debian 13 root of the rpm 6 test): then no debuginfo packages.
debuginfo=$(rpm --eval '%{?__find_debuginfo}')
if [ -n "$debuginfo" ] && [ "${debuginfo#/}" != "$debuginfo" ] && [ ! -x "$debuginfo" ]; then
	echo "no $debuginfo (debugedit) here: built without debuginfo packages"
	args+=(--define "debug_package %{nil}")
fi
rpmbuild -bb "${args[@]}" "$spec" >"$top/rpmbuild.log" 2>&1
check $? "rpmbuild -bb packaging/kabi-deps.spec"
grep -q -- '--suite unit' "$top/rpmbuild.log"; check $? "%check ran the unit suite"
if [ "$fail" -ne 0 ]; then
	tail -n 40 "$top/rpmbuild.log"
	exit 1
fi

rpmfile() { find "$top/RPMS" -name "$1-$version-*.rpm" | head -n 1; }
main=$(rpmfile kabi-deps) libs=$(rpmfile kabi-deps-libs)
devel=$(rpmfile kabi-deps-devel) triggers=$(rpmfile kabi-deps-triggers)
for p in "$main" "$libs" "$devel" "$triggers"; do
	[ -n "$p" ]; check $? "package built: ${p##*/}"
done
[ "$fail" -eq 0 ] || exit 1

has() { # rpm path
	rpm -qpl "$1" | grep -xF "$2" >/dev/null; check $? "${1##*/} has $2"
}
has "$main" "$(rpm --eval '%{_fileattrsdir}')/kabideps.attr"
has "$main" "$(rpm --eval '%{_fileattrsdir}')/kabideps_kernel.attr"
has "$main" "$(rpm --eval '%{_rpmmacrodir}')/macros.kabideps"
has "$main" "$(rpm --eval '%{_bindir}')/kabi-deps"
has "$libs" "$(rpm --eval '%{_libdir}')/libkabideps.so.0"
has "$devel" "$(rpm --eval '%{_includedir}')/kabideps.h"
has "$devel" "$(rpm --eval '%{_libdir}')/pkgconfig/kabideps.pc"
has "$triggers" "$(rpm --eval '%{_libexecdir}')/kabi-deps/depmod-trigger"
mandir=$(rpm --eval '%{_mandir}')
for page in man1/kabi-deps.1 man1/kabi-deps-check.1 man1/kabi-deps-symsets.1 man8/kabi-deps-weak-modules.8 man7/kabideps.7; do
	rpm -qpl "$main" | grep -E "^${mandir}/${page//./\\.}(\\.(gz|xz|zst|bz2))?\$" >/dev/null
	check $? "${main##*/} has the man page $page"
done
rpm -qpR "$main" | grep -E '^kabi-deps-libs\(.*\) = '"$version"'-' >/dev/null; check $? "kabi-deps requires its libs, same build"
[ "$(rpm -qp --qf '%{arch}' "$triggers")" = noarch ]; check $? "kabi-deps-triggers is noarch"
for t in transfiletriggerin transfiletriggerun; do
	rpm -qp --filetriggers "$triggers" | grep "^$t scriptlet.* -- /lib/modules/, /usr/lib/modules/$" >/dev/null
	check $? "kabi-deps-triggers: $t on /lib/modules/ and /usr/lib/modules/"
done
# rpm matches a postun file trigger's first prefix only: one trigger each
for prefix in /lib/modules/ /usr/lib/modules/; do
	rpm -qp --filetriggers "$triggers" | grep "^transfiletriggerpostun scriptlet.* -- $prefix$" >/dev/null
	check $? "kabi-deps-triggers: transfiletriggerpostun on $prefix alone"
done

# rpmlint over the packages and the spec, once with each distribution's
# settings (tests/rpm/rpmlint/: the project's own statement of what Fedora's
# and openSUSE's configurations decide for these packages; the findings
# they filter for every package are in kabi-deps.rpmlintrc):
# every finding left must be listed in packaging/kabi-deps.rpmlintrc, and
# every filter there must still match something (rpmlint reports those that
# do not as unused-rpmlintrc-filter) unless its line says where it may not.
rpmlintrc=$src/packaging/kabi-deps.rpmlintrc
if [ "$(rpm --eval '%{_prefix}')" != /usr ]; then
	# (an rpm built from source under its own prefix puts the packages' files
	# there: distribution policy does not apply to such packages)
	echo "skip rpmlint: this rpm's %_prefix is $(rpm --eval '%{_prefix}'), not /usr"
elif command -v rpmlint >/dev/null && command -v checkbashisms >/dev/null; then
	may_be_unused=$(sed -n 's/^addFilter("\(.*\)") *# may be unused:.*/\1/p' "$rpmlintrc")
	for conf in fedora opensuse; do
		# (the system's rpmlint, whose Python rpm module is the system rpm's:
		# not under the library path of an rpm built from source)
		out=$(env -u LD_LIBRARY_PATH PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			rpmlint -c "$src/tests/rpm/rpmlint/$conf.toml" -r "$rpmlintrc" \
			"$main" "$libs" "$devel" "$triggers" "$spec" 2>&1)
		findings=$(grep -E '^[^ ]+: [EWI]: ' <<<"$out" | while IFS= read -r line; do
			filter=${line#*: E: unused-rpmlintrc-filter \"}
			if [ "$filter" = "$line" ] || ! grep -qxF -- "${filter%\"}" <<<"$may_be_unused"; then
				printf '%s\n' "$line"
			fi
		done)
		[ -z "$findings" ] && grep -q '4 packages and 1 specfiles checked' <<<"$out"
		check $? "rpmlint, $conf configuration: nothing that kabi-deps.rpmlintrc does not list"
		if [ -n "$findings" ]; then
			sed 's/^/     /' <<<"$findings"
		elif ! grep -q 'specfiles checked' <<<"$out"; then
			tail -n 20 <<<"$out" | sed 's/^/     /' # rpmlint itself failed
		fi
	done
else
	# (the Debian 13 root of tests/debian13 has no rpmlint: what it would
	# find there is not known)
	echo "skip rpmlint: rpmlint or checkbashisms is not installed (Debian: rpmlint, devscripts)"
fi

# The packaged files, unpacked: every path the attr and the Lua glue name
# is in the packages.
root=$top/root
mkdir -p "$root"
for p in "$main" "$libs" "$triggers"; do
	rpm2cpio "$p" | (cd "$root" && cpio -idm --quiet)
done
check_named_paths "$root" packaged
# The packaged depmod-trigger names this rpm's directories (meson fills them in)
trigger=$root$(rpm --eval '%{_libexecdir}')/kabi-deps/depmod-trigger
for line in "kabi_deps=$(rpm --eval '%{_bindir}')/kabi-deps" \
	"conf=\${KABI_DEPS_TRIGGER_CONF:-$(rpm --eval '%{_sysconfdir}')/kabi-deps/triggers.conf}" \
	"state=\${KABI_DEPS_TRIGGER_STATE:-$(rpm --eval '%{_localstatedir}')/lib/rpm-state/kabi-deps/removed}"; do
	grep -qxF "$line" "$trigger"; check $? "depmod-trigger has $line"
done
has "$triggers" "$(rpm --eval '%{_localstatedir}')/lib/rpm-state/kabi-deps"
# The packaged CLI, with the packaged library, on a real Module.symvers.
# (The directories are this rpm's: an rpm built with its own prefix has
# its own %_prefix.)
symvers=$(ls /usr/src/linux-headers-*/Module.symvers 2>/dev/null | head -n 1)
if [ -n "$symvers" ]; then
	LD_LIBRARY_PATH=$root$(rpm --eval '%{_libdir}')${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$root$(rpm --eval '%{_bindir}')/kabi-deps" symsets \
		--release test -o "$top/symsets.tar.gz" "$symvers" &&
		tar -tzf "$top/symsets.tar.gz" >"$top/members" &&
		grep -q '^symsets-test/.*\.[0-9a-f]\{16\}$' "$top/members"
	check $? "the packaged CLI builds symsets from $symvers"
else
	echo "skip the packaged CLI: no kernel headers installed"
fi
exit "$fail"
