#!/bin/bash
# The in-process attrs cost rpm a generator call per module only for the
# kinds that can give something: rpm calls a parametric generator for every
# file its attr matches, so supplements and recommends have attrs of their
# own whose path (rpm expands it once per package) matches the modules only
# when %_kabideps_modalias / %_kabideps_firmware ask for those kinds.
# usage: test-lua-attrs.sh BUILDDIR
set -uo pipefail # no -e: every check reports
build=$1
. "$(dirname "$0")/../lib/checks.sh"
load=(--load "$build/macros.d/macros.kabideps")
for a in "$build"/fileattrs/*.attr.uninstalled-lua; do
	load+=(--load "$a")
done
ev() { rpm "${load[@]}" "$@" 2>&1; }
path=$(ev --eval '%{__kabideps_path}')
[ -n "$path" ] && [ "$path" != '^$' ]; check $? "the module attr matches modules ($path)"
[ -z "$(ev --eval '%{?__kabideps_supplements:1}%{?__kabideps_recommends:1}')" ]
check $? "the module attr has no supplements or recommends generator (rpm would call them per module)"
[ -n "$(ev --eval '%{?__kabideps_provides:1}')" ] && [ -n "$(ev --eval '%{?__kabideps_requires:1}')" ]
check $? "... but provides and requires"
for spec in "modalias supplements" "firmware recommends"; do
	set -- $spec
	attr=kabideps_$1 kind=$2
	[ -n "$(ev --eval "%{?__${attr}_${kind}:1}")" ]; check $? "$attr.attr has the $kind generator"
	got=$(ev --eval "%{__${attr}_path}")
	[ -z "$got" ]; check $? "Fedora/RHEL settings: $attr.attr matches nothing ('$got')"
	got=$(ev --define "suse_version 1600" --eval "%{__${attr}_path}")
	[ "$got" = "$path" ]; check $? "SUSE settings: $attr.attr matches the modules ('$got')"
	got=$(ev --define "_kabideps_$1 $kind" --eval "%{__${attr}_path}")
	[ "$got" = "$path" ]; check $? "%_kabideps_$1 $kind: $attr.attr matches the modules"
	got=$(ev --define "suse_version 1600" --define "_kabideps_$1 none" --eval "%{__${attr}_path}")
	[ -z "$got" ]; check $? "SUSE with %_kabideps_$1 none: $attr.attr matches nothing"
	got=$(ev --define "suse_version 1600" --define '__kabideps_path ^$' --eval "%{__${attr}_path}")
	[ "$got" = '^$' ]; check $? "switched off (__kabideps_path ^\$): $attr.attr matches nothing"
done
exit "$fail"
