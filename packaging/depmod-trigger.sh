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
#                           (or from the package's own %preun, when it is
#                           erased with the kmods: then no file trigger runs)
#
# For each kernel release whose extra/, updates/ or weak-updates/ modules
# came or went, runs `depmod -a RELEASE` once, when that kernel is installed
# (its modules.order exists).  Weak updates (modules linked into the
# weak-updates/ of the other kernels they fit):
#   - `kabi-deps weak-modules` where the system has no /usr/sbin/weak-modules
#     (or where the configuration says weak_modules=kabi-deps): after every
#     transaction in which kmods or kernels (their modules.order, symvers,
#     build link) came or went; it also runs the depmods above, once per
#     kernel, with those whose weak links changed;
#   - else RHEL's weak-modules, handed the removed, then the added modules.
# The configuration, /etc/kabi-deps/triggers.conf, holds lines
#   weak_modules=auto|kabi-deps|rhel|none   (auto: RHEL's where it exists)
#   initramfs=none|dracut   (dracut: `dracut -f --kver R` for each kernel
#                            whose weak links kabi-deps changed)
# and is read, never run.  rpm (4.18) runs
# the in trigger before the postun one, both after every file is in place:
# whichever comes first does the work for both, so an upgrade runs depmod
# once.  A kept path that still exists was replaced (upgraded in place),
# not removed.
# Quiet, idempotent, and it never fails the transaction.  Paths are data:
# read, compared, printed, never evaluated.
action=$1
state=${KABI_DEPS_TRIGGER_STATE:-/var/lib/rpm-state/kabi-deps/removed}
conf=${KABI_DEPS_TRIGGER_CONF:-/etc/kabi-deps/triggers.conf}
kabi_deps=/usr/bin/kabi-deps
rhel_wm=/usr/sbin/weak-modules
nl='
'
releases=
added=
removed=
kernels=

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
		# a kernel (or its headers, Debian's symvers) came or went
		modules.order | symvers* | build)
			kernels=1
			continue
			;;
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

weak=auto
initramfs=none
if [ -r "$conf" ]; then
	while IFS= read -r line; do
		case $line in
		weak_modules=auto | weak_modules=kabi-deps | weak_modules=rhel | weak_modules=none)
			weak=${line#*=} ;;
		initramfs=none | initramfs=dracut) initramfs=${line#*=} ;;
		esac
	done <"$conf" 2>/dev/null
fi
if [ "$weak" = auto ]; then
	if [ -x "$rhel_wm" ]; then weak=rhel; elif [ -x "$kabi_deps" ]; then weak=kabi-deps; else weak=none; fi
fi
[ "$weak" != kabi-deps ] || [ -x "$kabi_deps" ] || weak=none

# [ -z "$kept" ]: true, not the special built-in ':' whose redirection error
# would end sh
if [ "$weak" = kabi-deps ]; then
	[ -z "$kept" ] || true 2>/dev/null >"$state"
	[ -n "$releases$kernels$added$removed" ] || exit 0
	# every run decides all kernels: the added modules are named (they may
	# be upgrades in place), the releases to depmod passed one by one
	set --
	IFS=$nl
	set -f
	for release in $releases; do
		if [ -e "/lib/modules/$release/modules.order" ] || [ -e "/usr/lib/modules/$release/modules.order" ]; then
			set -- "$@" --depmod-kernel "$release"
		fi
	done
	unset IFS
	set +f
	changed=$(printf '%s' "$added" 2>/dev/null | "$kabi_deps" weak-modules --no-initramfs --print-changed "$@" \
		--add-modules 2>/dev/null)
	status=$?
	if [ "$initramfs" = dracut ] && [ -n "$changed" ]; then
		printf '%s\n' "$changed" | while IFS= read -r release; do
			dracut -f --kver "$release" >/dev/null 2>&1 || :
		done
	fi
	# 0 done, 1 bad input named (the rest done, depmods included); else it
	# did not run (a kabi-deps without weak-modules, a crash): depmod below
	[ "$status" -gt 1 ] || exit 0
	weak=none
	kept=
fi

printf '%s' "$releases" | while IFS= read -r release; do
	if [ -e "/lib/modules/$release/modules.order" ] || [ -e "/usr/lib/modules/$release/modules.order" ]; then
		depmod -a "$release" >/dev/null 2>&1 || :
	fi
done

[ -z "$kept" ] || true 2>/dev/null >"$state"

# (printf quiet too: a weak-modules that exits without reading leaves it a
# write error where SIGPIPE is ignored; seen under rpm 4.16)
if [ "$weak" = rhel ] && [ -x "$rhel_wm" ]; then
	if [ -n "$removed" ]; then
		printf '%s' "$removed" 2>/dev/null | "$rhel_wm" --remove-modules >/dev/null 2>&1 || :
	fi
	if [ -n "$added" ]; then
		printf '%s' "$added" 2>/dev/null | "$rhel_wm" --add-modules >/dev/null 2>&1 || :
	fi
fi
exit 0
