#!/bin/bash
# Build and package the example kmod with its plain spec (examples/kmp/),
# against the installed kernel headers, with kabi-deps from the build tree,
# and print the dependencies rpm recorded in the package.
# usage: examples/run-example.sh BUILDDIR
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
builddir=$(cd "${1:-$top/build}" && pwd)

kbuild=$(ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1)
if [ -z "$kbuild" ] || [ ! -f "$kbuild/Module.symvers" ]; then
	echo "run-example: no kernel headers with Module.symvers under /lib/modules/*/build" >&2
	exit 1
fi
kver=$(basename "$(dirname "$kbuild")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== rpmbuild -bb examples/kmp/kmp-kmod.spec (kernel $kver)"
# --nodeps: BuildRequires: kabi-deps is satisfied by the build tree, not rpmdb
if ! "$top/tests/rpm/rpmbuild-uninstalled" "$builddir" -bb --nodeps \
	--define "_topdir $work" --define "_sourcedir $top/examples/kmp" \
	--define "kver $kver" --define "kbuild $kbuild" \
	"$top/examples/kmp/kmp-kmod.spec" >"$work/rpmbuild.log" 2>&1; then
	cat "$work/rpmbuild.log" >&2
	exit 1
fi
grep -E '^(Provides|Requires|Wrote):|kabi-deps' "$work/rpmbuild.log" || true
rpm=$(ls "$work"/RPMS/*/kmp-kmod-*.rpm)
echo "== rpm -qp --provides $(basename "$rpm")"
rpm -qp --provides "$rpm"
echo "== rpm -qp --requires $(basename "$rpm")"
rpm -qp --requires "$rpm"
