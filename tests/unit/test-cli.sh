#!/bin/bash
# The CLI on the files rpm hands it, as kabi_generate() takes them: a
# kernel's reference file (symvers.gz, Module.symvers, a symsets tarball)
# among the modules only provides; requires passes over it, as for a file
# that is not there at all, instead of reading it as a module.
#   test-cli.sh KABI-DEPS FX-MODULE
set -euo pipefail
cli=$1 fx_module=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/lib/modules/6.1.0-fx"
"$fx_module" "$dir/fx.ko"
printf '0x9060323f\tmodule_layout\tvmlinux\tEXPORT_SYMBOL\t\n' >"$dir/Module.symvers"
gzip -c "$dir/Module.symvers" >"$dir/lib/modules/6.1.0-fx/symvers.gz"
fail=0
for kind in requires supplements recommends; do
	opts=()
	[ "$kind" = requires ] && opts=(--symvers "$dir/Module.symvers")
	for ref in "$dir/lib/modules/6.1.0-fx/symvers.gz" "$dir/Module.symvers"; do
		want=$("$cli" "$kind" "${opts[@]}" "$dir/fx.ko")
		status=0
		got=$("$cli" "$kind" "${opts[@]}" "$ref" "$dir/fx.ko" 2>"$dir/err") || status=$?
		if [ "$status" != 0 ]; then
			echo "FAIL: $kind ${ref#"$dir"/} fx.ko: exit status $status: $(cat "$dir/err")"
			fail=1
		elif [ "$got" != "$want" ] || [ -s "$dir/err" ]; then
			echo "FAIL: $kind ${ref#"$dir"/} fx.ko: gave '$got' (stderr '$(cat "$dir/err")'), want '$want'"
			fail=1
		fi
		# the multifile protocol: no ';PATH' line for a file without dependencies
		got=$(printf '%s\n' "$ref" "$dir/fx.ko" | "$cli" "$kind" --multifile "${opts[@]}" 2>"$dir/err") || fail=1
		if grep -q "^;$ref\$" <<<"$got" || [ -s "$dir/err" ]; then
			echo "FAIL: $kind --multifile ${ref#"$dir"/}: gave '$got' (stderr '$(cat "$dir/err")')"
			fail=1
		fi
	done
done
# provides of the same files: the reference file's own
got=$("$cli" provides "$dir/lib/modules/6.1.0-fx/symvers.gz" "$dir/fx.ko")
grep -qx 'kernel(module_layout) = 0x9060323f' <<<"$got" || { echo "FAIL: provides: '$got'"; fail=1; }
[ "$fail" = 0 ] && echo "requires, supplements and recommends pass over reference files; provides reads them"
exit "$fail"
