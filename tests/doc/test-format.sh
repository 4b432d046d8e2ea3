#!/bin/bash
# Every C source and header of the project passes clang-format with the
# project's .clang-format.  Formatting differs between clang-format majors;
# the style is kept with Debian 12's (14), others skip.
#   test-format.sh SOURCE_ROOT
set -euo pipefail
src=$1
command -v clang-format >/dev/null || { echo "SKIP: no clang-format (apt-get install clang-format)"; exit 77; }
major=$(clang-format --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
[ "$major" = 14 ] || { echo "SKIP: clang-format $major formats differently from 14, which the style is kept with"; exit 77; }
cd "$src"
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files '*.c' '*.h')
else
	mapfile -t files < <(find plugin tests bench examples -name '*.[ch]' | sort)
fi
bad=0
for f in "${files[@]}"; do
	if ! clang-format --style=file "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" -; then
		bad=$((bad + 1))
	fi
done
echo "${#files[@]} files checked, $bad not formatted (fix: clang-format -i FILE)"
[ "$bad" -eq 0 ]
