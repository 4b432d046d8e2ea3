#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer harnesses (clang, ASan, UBSan) in build-fuzz/, runs the
# saved regression inputs, then each harness for SECONDS (a smoke run in CI;
# longer by hand).  Any crash, leak or sanitizer report fails.
#
#   tests/fuzz/smoke.sh [SECONDS]       (default $FUZZ_SECONDS, else 20)
#
# Exit 77 when clang's libFuzzer is not installed.  The corpus grows in
# build-fuzz/corpus/HARNESS; new crashes land in build-fuzz/artifacts/.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-${FUZZ_SECONDS:-20}}
build=$src/build-fuzz

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }\n' >"$probe/p.c"
if ! command -v clang >/dev/null || ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
	echo "SKIP: clang with libFuzzer is not installed"
	exit 77
fi

# rpm stays enabled: the symsets seeds below are made by this build's CLI,
# whose symsets command needs librpm.
reconfigure=
[ -f "$build/build.ninja" ] && reconfigure=--reconfigure
CC=clang meson setup $reconfigure "$build" --prefix=/usr -Dfuzzing=true -Dtests=false -Drpm=auto \
	-Db_sanitize=address,undefined -Db_lundef=false -Dreal_kernel_tests=disabled \
	-Ddebootstrap_tests=disabled >/dev/null
ninja -C "$build" >/dev/null

# seeds: fixtures of every era, real modules and Module.symvers lines when
# the tests fetched a kernel, a symsets tarball made from those
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds/module" "$seeds/symvers" "$seeds/symsets"
"$build/tests/fuzz/fuzz-seeds" "$seeds/module"
cache=$("$src/tests/lib/cache-dir.sh")
find "$cache" -path '*/lib/modules/*' -name '*.ko*' -size -24k 2>/dev/null | head -n 40 |
	while IFS= read -r m; do cp "$m" "$seeds/module/"; done
symvers=$(find "$cache" -name Module.symvers 2>/dev/null | head -n 1)
if [ -n "$symvers" ]; then
	head -n 200 "$symvers" >"$seeds/symvers/Module.symvers"
	gzip -c "$seeds/symvers/Module.symvers" >"$seeds/symvers/symvers.gz"
	xz -c "$seeds/symvers/Module.symvers" >"$seeds/symvers/symvers.xz"
fi
printf '0x1\tfoo\tvmlinux\n0x2\tbar\tdrivers/x/y\tEXPORT_SYMBOL_GPL\tNS\n' >"$seeds/symvers/small"
printf '0x11223344\tfx_a\tvmlinux\tEXPORT_SYMBOL\t\n0x00000042\tfx_b\tdrivers/fx/fx\tEXPORT_SYMBOL_GPL\t\n' \
	>"$seeds/symvers/fx.symvers"
for style in suse rhel5; do
	"$build/plugin/kabi-deps" symsets --release 6.1.0-fx --style "$style" \
		-o "$seeds/symsets/symsets-$style.tar.gz" "$seeds/symvers/fx.symvers"
done

status=0
for h in module symvers symsets; do
	corpus=$build/corpus/$h
	mkdir -p "$corpus" "$build/artifacts"
	reg=$src/tests/fuzz/regressions/$h
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
		"$build/tests/fuzz/fuzz-$h" -runs=0 "$reg"/* >"$build/$h-regressions.log" 2>&1 ||
			{ tail -n 30 "$build/$h-regressions.log"; status=1; }
	fi
	"$build/tests/fuzz/fuzz-$h" -max_total_time="$secs" -max_len=262144 -rss_limit_mb=2048 \
		-timeout=20 -print_final_stats=1 -artifact_prefix="$build/artifacts/$h-" \
		"$corpus" "$seeds/$h" >"$build/$h.log" 2>&1 || { tail -n 40 "$build/$h.log"; status=1; }
	printf 'fuzz-%s: %s runs in %ss, corpus %s inputs%s\n' "$h" \
		"$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$h.log")" "$secs" \
		"$(ls "$corpus" | wc -l)" "$([ $status -eq 0 ] && echo '' || echo ', FAILED')"
done
exit $status
