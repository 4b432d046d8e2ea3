#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The in-process generator by itself (not part of the tests): rpm's own Lua
# calls the attr's generator of each kind (provides, requires, supplements,
# recommends) for --modules (1,000) in-tree modules of the cached Debian
# kernel (tests/real/fetch-kernel.sh), as rpmbuild would, without rpmbuild
# around it; then the same loop over generators that print nothing.  Prints
# the CPU time of each loop a module (Lua's os.clock), and with --callgrind
# the instructions of each run, which the load of the machine does not
# change (the difference over 1,000 is the cost a module).
#   bench/lua-calls.sh [--callgrind] [--modules N] BUILDDIR [RPM_PREFIX]
# BUILDDIR: a build tree configured against this rpm (RPM_PREFIX: an rpm
# built from source, as the rpm matrix's, whose tree is then
# BUILDDIR/rpm-matrix/rpm-VERSION-*).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
callgrind= modules=1000
while [ $# -gt 0 ]; do
	case $1 in
	--callgrind) callgrind=1 ;;
	--modules) modules=$2; shift ;;
	*) break ;;
	esac
	shift
done
build=$1 prefix=${2:-}
if [ -n "$prefix" ]; then
	export PATH=$prefix/bin:$PATH LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
attr=$build/fileattrs/kabideps.attr.uninstalled-lua
[ -f "$attr" ] || { echo "lua-calls: no $attr (build first; rpm >= 4.16 with its Lua headers)" >&2; exit 1; }
cache=$("$src/tests/lib/cache-dir.sh")
{ read -r moddir; read -r symvers; } < <("$src/tests/real/fetch-kernel.sh" "$cache" amd64)
root=${moddir%/lib/modules/*}
script=$(mktemp)
trap 'rm -f "$script"' EXIT
{
	echo '%{lua:'
	echo 'local paths = {'
	(cd "$root" && find "${moddir#"$root"/}/kernel" -name '*.ko' | sort | awk -v n="$modules" 'NR <= n') |
		sed "s|.*|\"$root/&\",|"
	echo '}'
	echo 'local t0, bytes = os.clock(), 0'
	echo 'for _, p in ipairs(paths) do'
	echo '  for _, k in ipairs({ "provides", "requires", "supplements", "recommends" }) do'
	echo '    bytes = bytes + #rpm.expand("%{__" .. GEN .. "_" .. k .. " " .. p .. "}")'
	echo '  end'
	echo 'end'
	echo 'io.stderr:write(string.format("%s: %.3f ms of CPU a module, %d bytes of dependencies\n",'
	echo '                GEN, 1000 * (os.clock() - t0) / #paths, bytes))'
	echo '}'
} >"$script"
echo "$(rpm --version), $(rpm --eval '%{lua: print(_VERSION)}'), $modules modules of ${moddir##*/}, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for gen in kabideps nothing; do
	run=(rpm --load "$build/macros.d/macros.kabideps" --load "$attr"
		--define "buildroot $root" --define "name bench" --define "_kabideps_symvers $symvers")
	for k in provides requires supplements recommends; do
		run+=(--define "__nothing_$k() %{nil}")
	done
	[ -z "$callgrind" ] || run=(valgrind --tool=callgrind --callgrind-out-file=/dev/null "${run[@]}")
	"${run[@]}" --eval "$(sed "s/GEN/\"$gen\"/g" "$script")" 2>&1 >/dev/null | grep -E 'a module|Collected'
done
