#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# kabi-deps installed beside the distributions' own kmod generators (the
# real files, from ../shared/peers next to the source tree), in a private
# mount namespace whose /usr is this machine's with kabi-deps and the peers
# laid over it (overlayfs): nothing on the host changes.
#
#   test-peers.sh BUILDDIR SRCDIR WHAT     WHAT: buildroot | compare KABI_DEPS
set -eu
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for a mount namespace"
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip "no overlayfs in this kernel"
peers=${KABI_DEPS_PEERS:-$2/../shared/peers}
[ -d "$peers" ] || { echo "FAIL: no peers at $peers (shared/ beside the source tree)"; exit 1; }
exec unshare --mount --propagation private python3 "$here/test-peers.py" "$@"
