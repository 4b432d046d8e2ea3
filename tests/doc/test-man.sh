#!/bin/bash
# The man pages: each built by scdoc renders without a warning from man
# (MANWIDTH=80 man -l) and from groff's own checks (-ww), and every option
# that a command's --help names is in its page; every macro of
# macros.kabideps is in kabideps(7).
# usage: test-man.sh BUILDDIR SRCDIR PAGE...
set -uo pipefail # no -e: every check reports
build=$1 src=$2
shift 2
. "$src/tests/lib/checks.sh"
if ! command -v man >/dev/null || ! command -v groff >/dev/null; then
	echo "SKIP: man or groff not installed (Debian: man-db, groff-base)"
	exit 77
fi
check_empty() { # text message: ok when text is empty, else shown
	[ -z "$1" ]
	check $? "$2"
	[ -z "$1" ] || sed 's/^/     /' <<<"$1"
}
for page in "$@"; do
	name=${page##*/}
	[ -s "$page" ]; check $? "$name built"
	out=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" 2>&1 >/dev/null)
	check_empty "$out" "man -l $name: no warnings"
	out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	check_empty "$out" "groff -ww $name: no warnings"
done

# --help and the page of each command name the same options
cli=$build/plugin/kabi-deps
for page in kabi-deps.1 kabi-deps-check.1 kabi-deps-symsets.1 kabi-deps-weak-modules.8; do
	cmd=${page%.*}
	cmd=${cmd#kabi-deps}
	cmd=${cmd#-}
	scd=$src/doc/man/$page.scd
	help=$("$cli" $cmd --help)
	check $? "kabi-deps ${cmd:+$cmd }--help exits 0"
	missing=
	for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
		grep -qF -- "*$opt*" "$scd" || missing="$missing $opt"
	done
	check_empty "$missing" "${page%.*}(${page##*.}) has every option of kabi-deps${cmd:+ $cmd} --help"
done

# every macro of macros.kabideps (set, or commented out as an example) is in
# kabideps(7), where scdoc wants each _ escaped
missing=
for macro in $(grep -oE '^#?%_kabideps_[a-z_]+' "$build/macros.d/macros.kabideps" | tr -d '#' | sort -u); do
	grep -qF -- "${macro//_/\\_}" "$src/doc/man/kabideps.7.scd" || missing="$missing $macro"
done
check_empty "$missing" "kabideps(7) has every macro of macros.kabideps"
exit "$fail"
