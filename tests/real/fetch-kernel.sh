#!/bin/sh
# Fetch a Debian kernel image and its per-flavour headers (the package holding
# Module.symvers) with apt-get download and unpack them with dpkg-deb -x.
#
#   fetch-kernel.sh DESTDIR [ARCH [SUITE]]
#
# ARCH defaults to amd64.  Without SUITE, amd64 takes the version of this
# machine's installed linux-headers-*-amd64 through the machine's own apt
# configuration; other architectures (and any SUITE, e.g. trixie) use a
# private apt state under DESTDIR/.apt/ (the machine's apt configuration is
# not touched and no dpkg --add-architecture is needed), and take the host's
# kernel ABI when that suite has it for ARCH, else the newest ABI available.
#
# Unpacks into DESTDIR/ARCH (DESTDIR/SUITE-ARCH when SUITE is given).  A second
# run with the same arguments downloads nothing.  Prints two lines: the module
# tree (.../lib/modules/KVER) and the Module.symvers path.
#
# Exit status: 0 done, 2 the mirror could not be reached or served nothing
# usable (callers may treat that as "skip"), 1 anything else.
#
# Environment: KABI_DEPS_DEBIAN_MIRROR (http://deb.debian.org/debian),
# KABI_DEPS_DEBIAN_SECURITY_MIRROR (http://deb.debian.org/debian-security),
# KABI_DEPS_KERNEL_FLAVOUR (flavour to fetch instead of the default for ARCH),
# KABI_DEPS_KERNEL_ABI (e.g. 6.1.0-50: fetch that ABI instead of choosing).
set -eu

prog=fetch-kernel.sh
die() { echo "$prog: $*" >&2; exit 1; }
unreachable() { echo "$prog: $*" >&2; exit 2; }

if [ $# -lt 1 ] || [ $# -gt 3 ]; then die "usage: $prog DESTDIR [ARCH [SUITE]]"; fi
destdir=$1
arch=${2:-amd64}
suite=${3:-}
mkdir -p "$destdir"
destdir=$(cd "$destdir" && pwd)

mirror=${KABI_DEPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
secmirror=${KABI_DEPS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

if [ -n "$suite" ]; then key=$suite-$arch; else key=$arch; fi
out=$destdir/$key
stamp=$out/.fetched

# One fetch of a key at a time: a second caller waits, then finds the stamp
# (two cold runs would each replace the tree while the other's tests read it).
command -v flock >/dev/null 2>&1 || die "flock not found"
exec 9>"$out.lock"
flock 9

if [ -s "$stamp" ]; then
	moddir=$(sed -n 1p "$stamp")
	symvers=$(sed -n 2p "$stamp")
	if [ -d "$moddir" ] && [ -f "$symvers" ]; then
		printf '%s\n%s\n' "$moddir" "$symvers"
		exit 0
	fi
fi

for tool in apt-get apt-cache dpkg-deb; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found"
done

if [ -n "${KABI_DEPS_KERNEL_FLAVOUR:-}" ]; then
	flavours=$KABI_DEPS_KERNEL_FLAVOUR
else
	case $arch in
	i386) flavours="686-pae 686" ;;
	armhf) flavours="armmp-lpae armmp" ;;
	armel) flavours="rpi marvell" ;;
	mipsel | mips64el) flavours="4kc-malta 5kc-malta" ;;
	ppc64el) flavours="powerpc64le" ;;
	*) flavours=$arch ;;
	esac
fi

# The host's kernel ABI (e.g. 6.1.0-56) from the installed headers.
host_kver=$(for d in /usr/src/linux-headers-*-amd64; do
	if [ -d "$d" ]; then echo "${d#/usr/src/linux-headers-}"; fi
done | sort -V | tail -n 1)
host_abi=$(printf '%s\n' "$host_kver" | sed 's/-amd64$//')
# shellcheck disable=SC1091
host_suite=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}")

work=$(mktemp -d "$destdir/.fetch-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# apt options for the private state; set by private_apt
apt_opts=
private_apt() {
	psuite=$1
	state=$destdir/.apt/$psuite-$arch
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
	{
		echo "deb [arch=$arch signed-by=$keyring] $mirror $psuite main"
		case $psuite in
		sid | unstable | experimental) ;; # no updates or security suites
		*)
			echo "deb [arch=$arch signed-by=$keyring] $mirror $psuite-updates main"
			echo "deb [arch=$arch signed-by=$keyring] $secmirror $psuite-security main"
			;;
		esac
	} >"$state/sources.list"
	apt_opts="-o Dir::Etc::SourceList=$state/sources.list -o Dir::Etc::SourceParts=/nonexistent
		-o Dir::State::Lists=$state/lists -o Dir::Cache=$state/cache
		-o APT::Architecture=$arch -o APT::Architectures::=$arch -o APT::Sandbox::User=root"
	# A failing index (mirror mid-sync, arch missing in -security) makes apt
	# roll back only that release; go on with whatever arrived.
	# shellcheck disable=SC2086
	apt-get -q $apt_opts update >"$work/update.log" 2>&1 || true
	found=
	for f in "$state/lists/"*"_binary-${arch}_Packages"*; do
		if [ -f "$f" ]; then found=1; fi
	done
	if [ -z "$found" ]; then
		sed 's/^/  /' "$work/update.log" >&2
		unreachable "no package index for $psuite/$arch from $mirror"
	fi
	if grep -q '^[EW]:' "$work/update.log"; then
		grep '^[EW]:' "$work/update.log" | sed 's/^/  /' >&2
	fi
}

# Is package $1 known to apt (with $apt_opts)?
have_pkg() {
	# shellcheck disable=SC2086
	apt-cache $apt_opts show "$1" >/dev/null 2>&1
}

download() {
	# shellcheck disable=SC2086
	(cd "$work" && apt-get -q $apt_opts -o APT::Sandbox::User=root download "$@") >"$work/download.log" 2>&1 || {
		sed 's/^/  /' "$work/download.log" >&2
		return 1
	}
}

image='' headers=''
if [ -z "$suite" ] && [ "$arch" = amd64 ] && [ -n "$host_kver" ] && [ -z "${KABI_DEPS_KERNEL_ABI:-}" ] &&
	[ "$flavours" = amd64 ] && have_pkg "linux-image-$host_kver" && have_pkg "linux-headers-$host_kver"; then
	# the machine's own apt configuration knows the installed version
	image=linux-image-$host_kver headers=linux-headers-$host_kver
	download "$image" "$headers" || image=
fi

if [ -z "$image" ]; then
	private_apt "${suite:-${host_suite:-bookworm}}"
	candidates=0
	# shellcheck disable=SC2086
	names=$(apt-cache $apt_opts pkgnames linux-image- 2>/dev/null | sort -u)
	for fl in $flavours; do
		abis=$(printf '%s\n' "$names" | sed -n "s/^linux-image-\([0-9][0-9.]*\(-[0-9][0-9]*\|+[0-9a-z.+~]*\)\)-$fl\$/\1/p" | sort -V -r)
		if [ -n "${KABI_DEPS_KERNEL_ABI:-}" ]; then
			abis=$KABI_DEPS_KERNEL_ABI
		elif printf '%s\n' "$abis" | grep -qx "$host_abi"; then
			abis="$host_abi $abis"
		fi
		for abi in $abis; do
			if have_pkg "linux-image-$abi-$fl" && have_pkg "linux-headers-$abi-$fl"; then
				candidates=$((candidates + 1))
				# a mirror may list what it no longer serves: try the next ABI
				# from 7.x (sid) the modules are a package of their own
				modules=
				if have_pkg "linux-modules-$abi-$fl"; then modules=linux-modules-$abi-$fl; fi
				if download "linux-image-$abi-$fl" "linux-headers-$abi-$fl" $modules; then
					image=linux-image-$abi-$fl headers=linux-headers-$abi-$fl
					break 2
				fi
			fi
		done
	done
	[ "$candidates" -gt 0 ] || die "no linux-image-ABI-FLAVOUR with matching linux-headers for $arch (flavours: $flavours) in ${suite:-${host_suite:-bookworm}}"
	[ -n "$image" ] || unreachable "apt-get download failed for all $candidates candidate kernels"
fi

mkdir -p "$work/root"
for deb in "$work"/*.deb; do
	[ -f "$deb" ] || die "apt-get download produced no .deb"
	dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $deb failed"
	rm -f "$deb"
done

kver=${image#linux-image-}
moddir=
for d in lib/modules usr/lib/modules; do
	if [ -d "$work/root/$d/$kver/kernel" ]; then moddir=$d/$kver; fi
done
[ -n "$moddir" ] || die "$image has no lib/modules/$kver/kernel"
symvers=usr/src/linux-headers-$kver/Module.symvers
[ -f "$work/root/$symvers" ] || die "$headers has no $symvers"

rm -rf "$out"
mkdir -p "$out"
mv "$work/root" "$out/root"
printf '%s\n%s\n%s %s\n' "$out/root/$moddir" "$out/root/$symvers" "$image" "$headers" >"$stamp"
printf '%s\n%s\n' "$out/root/$moddir" "$out/root/$symvers"
