#!/bin/bash
# One list of options (plugin/options.def), read by everything that names
# them: the library's setter (its "unknown option" message lists what it
# knows), the CLI's usage, and what meson made of the table for rpm (the
# Lua glue's list, the macros %_kabideps_NAME, the --option arguments of
# the command's attrs); the man pages describe every one.  Each must give
# the table's names, in its order.
# usage: test-options.sh BUILDDIR SRCDIR
set -uo pipefail # no -e: every check reports
build=$1 src=$2
. "$src/tests/lib/checks.sh"
same() { # what names: the table's names, in order
	[ "$2" = "$table" ]
	check $? "$1: the options of plugin/options.def"
	[ "$2" = "$table" ] || printf '     table: %s\n     %s: %s\n' "$table" "$1" "$2"
}
words() { tr '\n' ' ' | sed 's/ $//'; }

table=$(sed -n 's/^KABI_OPTION(\([a-z_]*\),.*/\1/p' "$src/plugin/options.def" | words)
[ -n "$table" ]; check $? "plugin/options.def has rows ($table)"

cli=$build/plugin/kabi-deps
err=$("$cli" provides --option no_such_option=1 </dev/null 2>&1)
check $(($? == 2 ? 0 : 1)) "an unknown option is a usage error"
same "kabi_ctx_set_option()" "$(sed -n "s/.*unknown option 'no_such_option' (\(.*\)).*/\1/p" <<<"$err" | tr -d ',')"
for name in $table; do
	"$cli" provides --option "$name=" </dev/null
	check $? "kabi-deps provides --option $name= (empty: the default)"
done
same "kabi-deps --help" "$("$cli" --help | sed -n 's/^    \([a-z_]*\)=.*/\1/p' | words)"

macros=$build/macros.d/macros.kabideps
if [ -f "$macros" ]; then
	same "macros.kabideps" "$(grep -oE '^#?%_kabideps_[a-z_]+' "$macros" | tr -d '#' | sed 's/^%_kabideps_//' |
		grep -xF -f <(tr ' ' '\n' <<<"$table") | words)"
	same "%__kabideps_cli_options" "$(sed -n 's/^%__kabideps_cli_options //p' "$macros" |
		grep -oE -- '--option [a-z_]+=%\{\?_kabideps_[a-z_]+\}' |
		sed -E 's/--option ([a-z_]+)=%\{\?_kabideps_([a-z_]+)\}/\1 \2/' |
		awk '$1 == $2 { print $1 } $1 != $2 { print "(" $1 "=" $2 ")" }' | words)"
	glue=$build/fileattrs/kabideps-uninstalled.lua
	same "the Lua glue" "$(sed -n 's/^local OPTIONS = { \(.*\) }.*/\1/p' "$glue" | tr -d '",' | words)"
else
	echo "(built without rpm: no macros, no Lua glue)"
fi

for name in $table; do
	grep -qF -- "*$name=*" "$src/doc/man/kabi-deps.1.scd"
	check $? "kabi-deps(1) describes --option $name"
	grep -qF -- "%\\_kabideps\\_${name//_/\\_}" "$src/doc/man/kabideps.7.scd"
	check $? "kabideps(7) describes %_kabideps_$name"
done
exit "$fail"
