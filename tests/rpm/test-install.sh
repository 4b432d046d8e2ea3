#!/bin/bash
# meson install puts the attr, the macros and the Lua glue where this
# machine's rpm reads them, and what they name is installed too.
# usage: test-install.sh BUILDDIR
set -uo pipefail # no -e: every check reports
builddir=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild >/dev/null || exit 1
fail=0
check() { # cond-exit-status message
	if [ "$1" -eq 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fail=$((fail + 1)); fi
}
attr=$dest$(rpm --eval '%{_fileattrsdir}')/kabideps.attr
macros=$dest$(rpm --eval '%{_rpmmacrodir}')/macros.kabideps
test -f "$attr"; check $? "attr in rpm's %_fileattrsdir"
test -f "$macros"; check $? "macros in rpm's %_rpmmacrodir"
# every absolute path the attr and the glue name must be installed
# (the glue only when rpm runs kabi-deps in its Lua)
glue=$dest$(rpm --eval '%{_rpmluadir}')/kabideps.lua
if grep -q '_kabideps_glue' "$attr"; then
	test -f "$glue"; check $? "Lua glue in rpm's %_rpmluadir"
else
	glue=
fi
paths=$(grep -ho '/[A-Za-z0-9_./+-]*\.\(lua\|so\)\b\|/[A-Za-z0-9_./+-]*/kabi-deps\b' "$attr" \
	${glue:+"$glue"} | sort -u)
[ -n "$paths" ]; check $? "the attr and the glue name their files"
for p in $paths; do
	test -e "$dest$p"; check $? "installed: $p"
done
[ "$fail" -eq 0 ] && echo "$(grep -c . <<<"$paths") paths checked"
exit "$fail"
