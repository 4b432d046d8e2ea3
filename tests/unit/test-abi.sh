#!/bin/bash
# The ABI of libkabideps is frozen (kabideps.h, libkabideps.sym): the built
# library must have exactly the ABI of the committed baseline
# plugin/libkabideps.abi (abidw's XML of the five public structs and every
# exported function, with its version node).  A deliberate change adds a new
# LIBKABIDEPS_0.N node and refreshes the baseline, from the source root:
#   abidw --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --exported-interfaces-only --headers-dir plugin --drop-private-types BUILD/plugin/libkabideps.so >plugin/libkabideps.abi
#   test-abi.sh LIBKABIDEPS.SO SOURCE_ROOT
set -uo pipefail
lib=$1 src=$2
command -v abidiff >/dev/null || { echo "SKIP: no abidiff (Debian: apt-get install abigail-tools)"; exit 77; }
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
	# (a distribution's build, e.g. the spec's %check, may leave -g out)
	echo "SKIP: $lib has no debug information (DWARF), which the comparison of types needs: build with -g"
	exit 77
fi
# (the baseline holds the public structs only; the opaque ones are not ABI
# and abidiff filters their changes out)
abidiff --exported-interfaces-only "$src/plugin/libkabideps.abi" "$lib"
status=$?
if [ "$status" -ne 0 ]; then
	echo "FAIL: libkabideps' ABI differs from plugin/libkabideps.abi (abidiff status $status)."
	echo "Never change an existing version node; for a deliberate addition (a new LIBKABIDEPS_0.N node"
	echo "in plugin/libkabideps.sym) refresh the baseline with the command in tests/unit/test-abi.sh."
	exit 1
fi
echo "ABI as plugin/libkabideps.abi: $(grep -c '<elf-symbol ' "$src/plugin/libkabideps.abi") symbols, the public structs unchanged"
