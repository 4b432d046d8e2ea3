#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Copies the sources as they are in the work tree, without build trees, to
# DEST (made if missing): in a git checkout the tracked and the new files
# git does not ignore, elsewhere everything but build*/ and .git/.
#   copy-sources.sh SRCDIR DEST
set -eu
src=$1
dest=$2
mkdir -p "$dest"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && tar --null -T - -cf -) | tar -C "$dest" -xf -
else
	tar -C "$src" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$dest" -xf -
fi
