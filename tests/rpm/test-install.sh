#!/bin/bash
# meson install puts the attr, the macros and the Lua glue where this
# machine's rpm reads them, and what they name is installed too.
# usage: test-install.sh BUILDDIR
set -uo pipefail # no -e: every check reports
builddir=$1
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$builddir" --destdir "$dest" --no-rebuild >/dev/null || exit 1
. "$(dirname "$0")/../lib/checks.sh"
attr=$dest$(rpm --eval '%{_fileattrsdir}')/kabideps.attr
macros=$dest$(rpm --eval '%{_rpmmacrodir}')/macros.kabideps
test -f "$attr"; check $? "attr in rpm's %_fileattrsdir"
test -f "$macros"; check $? "macros in rpm's %_rpmmacrodir"
# the glue must be installed when rpm runs kabi-deps in its Lua
glue=$dest$(rpm --eval '%{_rpmluadir}')/kabideps.lua
if grep -q 'dofile' "$attr"; then
	test -f "$glue"; check $? "Lua glue in rpm's %_rpmluadir"
fi
# the templates' placeholders are all filled in
! grep -n '@[A-Z_]*@' "$attr" "$macros" ${glue:+$(test -f "$glue" && echo "$glue")}
check $? "no @PLACEHOLDER@ left in the attr, the macros and the glue"
check_named_paths "$dest" installed
exit "$fail"
