#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The file triggers of kabi-deps-triggers: what kmodtool's %post/%postun
# scriptlets did, once per transaction instead of once per package.
#
#   depmod-trigger in       module paths on stdin, one per line, from rpm
#   depmod-trigger un       the same, before removal: kept for postun, to
#                           which rpm passes no paths
#   depmod-trigger postun   after removal, for the paths un kept
#
# For each kernel release whose extra/, updates/ or weak-updates/ modules
# came or went, runs `depmod -a RELEASE` once, when that kernel is installed
# (its modules.order exists); then hands the added or removed modules to
# RHEL's weak-modules where the system has it.  Quiet, idempotent, and it
# never fails the transaction.  Paths are data: read, compared, printed,
# never evaluated.
action=$1
state=${KABI_DEPS_TRIGGER_STATE:-/var/lib/rpm-state/kabi-deps/removed}
nl='
'
releases=
modules=

case $action in
un)
	# shell only: this runs in a transaction, maybe in a bare chroot
	while IFS= read -r path; do
		printf '%s\n' "$path"
	done >>"$state" 2>/dev/null
	exit 0
	;;
postun)
	[ -f "$state" ] || exit 0
	exec <"$state"
	;;
esac

while IFS= read -r path; do
	case $path in
	/lib/modules/*/* | /usr/lib/modules/*/*) ;;
	*) continue ;;
	esac
	rest=${path#*/lib/modules/}
	release=${rest%%/*}
	case ${rest#*/} in
	extra/* | updates/* | weak-updates/*) ;;
	*) continue ;;
	esac
	case "$nl$releases" in
	*"$nl$release$nl"*) ;;
	*) releases=$releases$release$nl ;;
	esac
	# weak-modules links modules into weak-updates/ itself: only the real ones
	case $path in
	*/weak-updates/*) ;;
	*.ko | *.ko.xz | *.ko.zst | *.ko.gz) modules=$modules$path$nl ;;
	esac
done

printf '%s' "$releases" | while IFS= read -r release; do
	if [ -e "/lib/modules/$release/modules.order" ] || [ -e "/usr/lib/modules/$release/modules.order" ]; then
		depmod -a "$release" >/dev/null 2>&1 || :
	fi
done

[ "$action" = postun ] && : >"$state"

if [ -n "$modules" ] && [ -x /usr/sbin/weak-modules ]; then
	case $action in
	in) printf '%s' "$modules" | /usr/sbin/weak-modules --add-modules >/dev/null 2>&1 || : ;;
	postun) printf '%s' "$modules" | /usr/sbin/weak-modules --remove-modules >/dev/null 2>&1 || : ;;
	esac
fi
exit 0
