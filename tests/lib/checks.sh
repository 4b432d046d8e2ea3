# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the bash tests: check(), and the files the attr names.

fail=0
check() { # cond-exit-status message
	if [ "$1" -eq 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fail=$((fail + 1)); fi
}

# check_named_paths ROOT WHAT: every absolute path that ROOT's kabideps.attr
# and Lua glue (when ROOT has it) name exists below ROOT.
check_named_paths() {
	local root=$1 what=$2 attr glue paths
	attr=$root$(rpm --eval '%{_fileattrsdir}')/kabideps.attr
	glue=$root$(rpm --eval '%{_rpmluadir}')/kabideps.lua
	[ -f "$glue" ] || glue=
	paths=$(grep -ho '/[A-Za-z0-9_./+-]*\.\(lua\|so\)\b\|/[A-Za-z0-9_./+-]*/kabi-deps\b' "$attr" \
		${glue:+"$glue"} | sort -u)
	[ -n "$paths" ]; check $? "the attr and the glue name their files"
	for p in $paths; do
		test -e "$root$p"; check $? "$what: $p"
	done
	echo "$(grep -c . <<<"$paths") paths checked"
}
