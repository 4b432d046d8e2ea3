#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The file triggers of kabi-deps-triggers: what kmodtool's %post/%postun
# scriptlets did, once per transaction instead of once per package.
#
#   depmod-trigger un       module paths on stdin, one per line, before they
#                           are removed: kept, since rpm passes no paths to
#                           %transfiletriggerpostun
#   depmod-trigger in       after the transaction: the installed paths on
#                           stdin, and the kept ones
#   depmod-trigger postun   after the transaction: the kept paths
#
# For each kernel release whose extra/, updates/ or weak-updates/ modules
# came or went, runs `depmod -a RELEASE` once, when that kernel is installed
# (its modules.order exists); then hands the removed, then the added
# modules to RHEL's weak-modules where the system has it.  rpm (4.18) runs
# the in trigger before the postun one, both after every file is in place:
# whichever comes first does the work for both, so an upgrade runs depmod
# once.  A kept path that still exists was replaced (upgraded in place),
# not removed.
# Quiet, idempotent, and it never fails the transaction.  Paths are data:
# read, compared, printed, never evaluated.
action=$1
state=${KABI_DEPS_TRIGGER_STATE:-/var/lib/rpm-state/kabi-deps/removed}
nl='
'
releases=
added=
removed=

case $action in
un)
	# shell only: this runs in a transaction, maybe in a bare chroot.  stderr
	# first: a state that cannot be written is no message and no failure
	while IFS= read -r path; do
		printf '%s\n' "$path"
	done 2>/dev/null >>"$state"
	exit 0
	;;
in | postun) ;;
*) exit 0 ;;
esac

# collect added|removed: paths on stdin
collect() {
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
		if [ "$1" = removed ] && { [ -e "$path" ] || [ -h "$path" ]; }; then
			continue
		fi
		case "$nl$releases" in
		*"$nl$release$nl"*) ;;
		*) releases=$releases$release$nl ;;
		esac
		# weak-modules links modules into weak-updates/ itself: only the real ones
		case $path in
		*/weak-updates/*) ;;
		*.ko | *.ko.xz | *.ko.zst | *.ko.gz)
			if [ "$1" = added ]; then added=$added$path$nl; else removed=$removed$path$nl; fi
			;;
		esac
	done
}

[ "$action" = in ] && collect added
kept=
if [ -s "$state" ]; then
	collect removed <"$state"
	kept=1
fi

printf '%s' "$releases" | while IFS= read -r release; do
	if [ -e "/lib/modules/$release/modules.order" ] || [ -e "/usr/lib/modules/$release/modules.order" ]; then
		depmod -a "$release" >/dev/null 2>&1 || :
	fi
done

# true, not the special built-in ':' whose redirection error would end sh
[ -z "$kept" ] || true 2>/dev/null >"$state"

# (printf quiet too: a weak-modules that exits without reading leaves it a
# write error where SIGPIPE is ignored; seen under rpm 4.16)
if [ -x /usr/sbin/weak-modules ]; then
	if [ -n "$removed" ]; then
		printf '%s' "$removed" 2>/dev/null | /usr/sbin/weak-modules --remove-modules >/dev/null 2>&1 || :
	fi
	if [ -n "$added" ]; then
		printf '%s' "$added" 2>/dev/null | /usr/sbin/weak-modules --add-modules >/dev/null 2>&1 || :
	fi
fi
exit 0
