#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The in-process generator by itself (not part of the tests): rpm's own Lua
# calls the generators of the build tree's lua attrs for --modules (1,000)
# in-tree modules of the cached Debian kernel (tests/real/fetch-kernel.sh),
# as rpmbuild would: each kind (provides, requires, supplements,
# recommends) of each attr whose %__NAME_path expands to something (rpm
# expands it once per package), without rpmbuild around it; then the same
# loop calling nothing.  --define MACRO=VALUE (repeatable) sets an option,
# e.g. --define '_kabideps_modalias supplements'.  Prints the CPU time of
# each loop a module (Lua's os.clock), the calls a module, and with
# --callgrind the instructions of each run, which the load of the machine
# does not change (the difference over 1,000 is the cost a module).
#   bench/lua-calls.sh [--callgrind] [--modules N] [--define 'MACRO VALUE']... BUILDDIR [RPM_PREFIX]
# BUILDDIR: a build tree configured against this rpm (RPM_PREFIX: an rpm
# built from source, as the rpm matrix's, whose tree is then
# BUILDDIR/rpm-matrix/rpm-VERSION-*).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
callgrind= modules=1000 defines=()
while [ $# -gt 0 ]; do
	case $1 in
	--callgrind) callgrind=1 ;;
	--modules) modules=$2; shift ;;
	--define) defines+=(--define "$2"); shift ;;
	*) break ;;
	esac
	shift
done
build=$1 prefix=${2:-}
if [ -n "$prefix" ]; then
	export PATH=$prefix/bin:$PATH LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
attrs=() names=()
# (the module attrs: kabideps_kernel's path matches no module)
for a in "$build"/fileattrs/kabideps*.attr.uninstalled-lua; do
	[ -f "$a" ] && [ "${a##*/}" != kabideps_kernel.attr.uninstalled-lua ] || continue
	attrs+=(--load "$a")
	a=${a##*/}
	names+=("\"${a%%.attr.*}\",")
done
[ ${#attrs[@]} -gt 0 ] || { echo "lua-calls: no lua attrs in $build/fileattrs (build first; rpm >= 4.16 with its Lua headers)" >&2; exit 1; }
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
	# the generators rpm calls per file, in its order: kind by kind, attr by
	# attr, those defined of the attrs whose path is not empty (the modules'
	# own paths are not matched against it: they lie under kernel/)
	echo 'local gens = {}'
	echo 'for _, k in ipairs({ "provides", "requires", "recommends", "supplements" }) do'
	echo "  for _, a in ipairs({ ${names[*]} }) do"
	echo '    if rpm.expand("%{?__" .. a .. "_path}") ~= "" and rpm.expand("%{?__" .. a .. "_" .. k .. ":1}") == "1" then'
	echo '      gens[#gens + 1] = "%{__" .. a .. "_" .. k .. " "'
	echo '    end'
	echo '  end'
	echo 'end'
	echo 'local t0, bytes = os.clock(), 0'
	echo 'for _, p in ipairs(paths) do'
	echo '  for _, g in ipairs(gens) do'
	echo '    if GEN then bytes = bytes + #rpm.expand(g .. p .. "}") end'
	echo '  end'
	echo 'end'
	echo 'io.stderr:write(string.format("%s: %.3f ms of CPU a module, %d calls a module, %d bytes of dependencies\n",'
	echo '                GEN and "kabideps" or "nothing", 1000 * (os.clock() - t0) / #paths, #gens, bytes))'
	echo '}'
} >"$script"
echo "$(rpm --version), $(rpm --eval '%{lua: print(_VERSION)}'), $modules modules of ${moddir##*/}, load: $(cut -d' ' -f1-3 /proc/loadavg)"
for gen in true false; do
	run=(rpm --load "$build/macros.d/macros.kabideps" "${attrs[@]}"
		--define "buildroot $root" --define "name bench" --define "_kabideps_symvers $symvers" "${defines[@]}")
	[ -z "$callgrind" ] || run=(valgrind --tool=callgrind --callgrind-out-file=/dev/null "${run[@]}")
	"${run[@]}" --eval "$(sed "s/GEN/$gen/g" "$script")" 2>&1 >/dev/null | grep -E 'a module|Collected'
done
