#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The resolvers decide.  Kernel packages (their reference data: the
installed headers' real Module.symvers, a copy with changed CRCs, symsets
tarballs made by `kabi-deps symsets`) and kmods from plain specs are built
here with kabi-deps, put into local repositories made with createrepo_c, and
installed, updated and erased by the real dnf or zypper in scratch roots.
Each scenario writes down the packages (name-version-release) it must leave
installed, compared exactly, and prints one line.  The kmods require
kabi-deps-triggers (the file triggers of packaging/kabi-deps.spec), which
the roots' own kabi-deps weak-modules runs from: the scenarios of kernel
updates and kmod upgrades and erases check the weak links it leaves.  Then
`kabi-deps check` must give, for every kmod and kernel, the verdict the
resolver gives.

usage: test-resolvers.py BUILDDIR SRCDIR dnf|zypper auto|enabled
"""
import glob, gzip, os, re, shutil, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import (Checks, RpmBuilder, install_kabi_deps, kernel_headers, run,  # noqa: E402
                      trigger_root, triggers_package, uname_r)

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
resolver_name, feature = sys.argv[3], sys.argv[4]
kabi_deps = os.path.join(builddir, "plugin/kabi-deps")
data = os.path.join(srcdir, "tests/resolvers/data")


def skip(reason):
    if feature == "enabled":
        print("FAIL: %s (resolver_tests=enabled)" % reason)
        sys.exit(1)
    print("SKIP: " + reason)
    sys.exit(77)


if os.geteuid() != 0:
    skip("dnf and zypper run rpm chrooted into the scratch roots: needs root")
for tool in (resolver_name, "createrepo_c"):
    if not shutil.which(tool):
        skip("%s not installed (Debian: apt-get install %s)" % (tool, {"createrepo_c": "createrepo-c"}.get(tool, tool)))
kbuild, kver = kernel_headers()
# Debian's VERSION-ABI-FLAVOR (6.1.0-57-amd64): the updates are ABI+1 and ABI+2
release_form = re.fullmatch(r"(\d+\.\d+\.\d+)-(\d+)-([a-z0-9]+)", kver)
if not release_form:
    skip("the installed headers' release %s is not Debian's VERSION-ABI-FLAVOR" % kver)
kversion, abi, flavor = release_form.group(1), int(release_form.group(2)), release_form.group(3)

check = Checks()
top = tempfile.mkdtemp(prefix="kabi-resolvers-")


# ---- kernel reference data -------------------------------------------------
# The kernels: the one the kmods are built for, an update keeping its ABI
# (same Module.symvers), an update breaking it (CRCs of symbols every kmod
# here imports changed).  Package release = the kernel's ABI number.
ROLES = {"base": abi, "same": abi + 1, "broken": abi + 2}
BROKEN_SYMBOLS = ("_printk", "module_layout")


def krel(role):
    return "%s-%d-%s" % (kversion, ROLES[role], flavor)


symvers = {role: os.path.join(top, "ref", krel(role), "Module.symvers") for role in ROLES}
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(kbuild, "Module.symvers")) if l.strip()]
check({r[1] for r in rows if r[2] == "vmlinux"} >= set(BROKEN_SYMBOLS),
      "the headers' Module.symvers has %s in vmlinux" % ", ".join(BROKEN_SYMBOLS))
for role, path in symvers.items():
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as f:
        for r in rows:
            if role == "broken" and r[1] in BROKEN_SYMBOLS:
                r = ["0x%08x" % (int(r[0], 16) ^ 0x00100010)] + r[1:]
            f.write("\t".join(r) + "\n")


def symvers_gz(role, dest):
    with open(symvers[role], "rb") as f, gzip.GzipFile(dest, "wb", mtime=0) as g:
        g.write(f.read())


def symsets(role, style, dest):
    r = run(kabi_deps, "symsets", "--release", krel(role), "--style", style, "-o", dest, symvers[role])
    return [] if r.returncode == 0 else ["kabi-deps symsets --style %s for %s:\n%s" % (style, krel(role), r.stderr)]


# ---- the styles each resolver is run with ----------------------------------
# symsets: None = per-symbol kernel(SYM) = 0xCRC, else the tarball's style;
# suse: %suse_version defined (SUSE's ksym(FLAVOR:SYM) naming, kernel-FLAVOR).
STYLES = {
    "dnf": [("symbols", None, False), ("symsets-rhel5", "rhel5", False)],
    "zypper": [("suse-symsets", "suse", True), ("suse-symbols", None, True)],
}[resolver_name]

KERNEL_SPEC = """Name: %(name)s
Version: %(version)s
Release: %(release)s
Summary: test kernel %(krel)s: its reference data and one in-tree module
License: GPL-2.0-only
Provides: kernel-uname-r = %(krel)s
%(provides)s
%(sources)s
Source100: intree.ko
%%global debug_package %%{nil}
%%description
A kernel package as far as resolvers and weak-modules see it: its kernel
ABI Provides come from kabi-deps' kernel side (the kabideps_kernel attr)
reading its files; an in-tree module (vermagic, struct module) and
modules.order make it an installed kernel for kabi-deps weak-modules.
%%install
%(install)s
d=%%{buildroot}/lib/modules/%(krel)s
install -D -m 644 %%{SOURCE100} $d/kernel/intree/intree.ko
echo kernel/intree/intree.ko >$d/modules.order
%%files
%(files)s
/lib/modules/%(krel)s/kernel/
/lib/modules/%(krel)s/modules.order
%%dir /lib/modules/%(krel)s
"""

KMOD_SPEC = """Name: %(name)s
Version: 1
Release: 1
Summary: test kmod %(name)s
License: GPL-2.0-only
%(sources)s
BuildRequires: kabi-deps
%%global debug_package %%{nil}
%%description
A plain spec: no scriptlets, no dependencies written by hand.
%%prep
%%setup -q -c -T
cp %(cp)s .
%%build
%(build)s
%%install
for ko in *.ko; do
	install -D -m 644 $ko %%{buildroot}/lib/modules/%%{kver}/extra/%(name)s/$ko
done
%%files
/lib/modules/%%{kver}/extra/%(name)s/
"""


def build_modules():
    """The test kmods' modules, built once against the installed headers (one
    kbuild run: kmp-user's import of the example's hello_world gets its CRC)."""
    d = os.path.join(top, "modules")
    os.makedirs(d)
    for f in (os.path.join(srcdir, "examples/kmp/hello.c"), os.path.join(srcdir, "tests/rpm/data/user.c"),
              os.path.join(data, "pair_a.c"), os.path.join(data, "pair_b.c"), os.path.join(data, "nover.c"),
              os.path.join(data, "intree.c")):
        shutil.copy(f, d)
    with open(os.path.join(d, "Kbuild"), "w") as f:
        f.write("obj-m := kmp.o user.o pair_a.o pair_b.o nover.o intree.o\nkmp-y := hello.o\n")
    r = run("make", "-s", "-C", kbuild, "M=" + d, "modules")
    check(r.returncode == 0, "the test modules build against the installed headers", r.stderr[-1500:])
    return d


def kmod_spec(name, modules, build=""):
    """A plain kmod spec packaging the given prebuilt modules."""
    spec_src = os.path.join(top, "src", name)
    if not os.path.isdir(spec_src):
        os.makedirs(spec_src)
        for m in modules:
            shutil.copy(os.path.join(modules_dir, m), spec_src)
    spec = KMOD_SPEC % dict(
        name=name, sources="\n".join("Source%d: %s" % (i, n) for i, n in enumerate(modules)),
        cp=" ".join("%%{SOURCE%d}" % i for i in range(len(modules))), build=build)
    return spec, spec_src


class Style:
    """The packages of one style, built once, and its repositories."""

    def __init__(self, label, symsets_style, suse):
        self.label, self.symsets_style, self.suse = label, symsets_style, suse
        self.dir = os.path.join(top, label)
        os.makedirs(os.path.join(self.dir, "rpmbuild"))
        # triggers on: the kmods require kabi-deps-triggers
        self.rb = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=os.path.join(self.dir, "rpmbuild"),
                             triggers=True)
        self.kernel_name = "kernel-" + flavor if suse else "kernel"
        self.common = ("suse_version 1600",) if suse else ()
        self.rpms = {}  # NVR -> path
        self.failures = []

    def build(self, name, version, release, spec, sources, defines=()):
        r = self.rb.build(name, spec, sources, defines=self.common + tuple(defines))
        nvr = "%s-%s-%s" % (name, version, release)
        found = glob.glob(os.path.join(self.rb.top, "RPMS/*/%s.*.rpm" % nvr))
        if r.returncode == 0 and len(found) == 1:
            self.rpms[nvr] = found[0]
        else:
            self.failures.append("%s does not build:\n%s" % (nvr, r.stderr[-1500:]))
        return nvr

    def kernel(self, role):
        rel = krel(role)
        src = os.path.join(self.dir, "ksrc", rel)
        os.makedirs(src)
        files = []  # (source name, installed path)
        if self.symsets_style:
            self.failures += symsets(role, self.symsets_style, os.path.join(src, "symsets-%s.tar.gz" % rel))
            files.append(("symsets-%s.tar.gz" % rel, "/boot/symsets-%s.tar.gz" % rel))
        if self.suse or self.symsets_style:
            files.append(("symvers-%s.gz" % rel, "/boot/symvers-%s.gz" % rel))
        else:  # Fedora/RHEL's place
            files.append(("symvers-%s.gz" % rel, "/lib/modules/%s/symvers.gz" % rel))
        symvers_gz(role, os.path.join(src, "symvers-%s.gz" % rel))
        shutil.copy(os.path.join(modules_dir, "intree.ko"), src)
        spec = KERNEL_SPEC % dict(
            name=self.kernel_name, version=kversion, release=ROLES[role], krel=rel,
            # SUSE kernels are multiversion by this Provides (zypp.conf's default)
            provides="Provides: multiversion(kernel)" if self.suse else "",
            sources="\n".join("Source%d: %s" % (i, f[0]) for i, f in enumerate(files)),
            install="\n".join("install -D -m 644 %%{SOURCE%d} %%{buildroot}%s" % (i, f[1])
                              for i, f in enumerate(files)),
            files="\n".join(f[1] for f in files))
        # kernel-uname-r = 6.1.0-57-amd64 has two '-': rpmbuild only warns with this
        return self.build(self.kernel_name, kversion, ROLES[role], spec, src,
                          ("_wrong_version_format_terminate_build 0",))

    def build_all(self):
        base_symsets = os.path.join(self.dir, "ksrc", krel("base"), "symsets-%s.tar.gz" % krel("base"))
        self.K = {role: self.kernel(role) for role in ROLES}
        # the kmods are built against the base kernel: its symsets when the style has them
        refs = ("_kabideps_symsets " + base_symsets,) if self.symsets_style else ()
        example = open(os.path.join(srcdir, "examples/kmp/kmp-kmod.spec")).read()
        exdir = os.path.join(srcdir, "examples/kmp")
        self.KMOD = self.build("kmp-kmod", "1.0", "1", example, exdir, refs)
        update = re.sub(r"^Release:(\s+)1$", r"Release:\g<1>2", example, flags=re.M)
        self.KMOD2 = self.build("kmp-kmod", "1.0", "2", update, exdir, refs)
        spec, src = kmod_spec("kmp-pair", ["pair_a.ko", "pair_b.ko"])
        self.PAIR = self.build("kmp-pair", "1", "1", spec, src, refs)
        spec, src = kmod_spec("kmp-user", ["user.ko"])
        self.USER = self.build("kmp-user", "1", "1", spec, src, refs)
        # modversions gone: __versions removed (and the debug info referring to it)
        spec, src = kmod_spec("kmp-nover", ["nover.ko"],
                              build="objcopy --strip-debug --remove-section=__versions nover.ko")
        # (the kernel-uname-r Requires it is to get has two '-' too)
        self.NOVER = self.build("kmp-nover", "1", "1", spec, src,
                                refs + ("_wrong_version_format_terminate_build 0",))
        self.TRIG = self.build("kabi-deps-triggers", "1", "1", triggers_spec, triggers_sources)
        self.repos = {}
        for repo, nvrs in (("base", [self.K["base"]]), ("same", [self.K["same"]]),
                           ("broken", [self.K["broken"]]),
                           ("kmods", [self.KMOD, self.PAIR, self.USER, self.NOVER, self.TRIG]),
                           ("kmods-update", [self.KMOD2])):
            path = os.path.join(self.dir, "repos", repo)
            os.makedirs(path)
            for nvr in nvrs:
                if nvr in self.rpms:
                    os.link(self.rpms[nvr], os.path.join(path, os.path.basename(self.rpms[nvr])))
            r = run("createrepo_c", "-q", path)
            if r.returncode:
                self.failures.append("createrepo_c %s:\n%s" % (repo, r.stderr))
            self.repos[repo] = path
        check(not self.failures, "%s: %d packages built, %d repositories made"
              % (self.label, len(self.rpms), len(self.repos)), "\n".join(self.failures))

    def deps(self, nvr, what):
        return set(run("rpm", "-qp", "--" + what, self.rpms[nvr]).stdout.splitlines())


# ---- the resolvers ------------------------------------------------------------
SH_NVR = "test-root-sh-1-1"  # in every root's rpm database from the start: not counted


def installed(root):
    r = run("rpm", "--root", root, "-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n")
    return set(r.stdout.split()) - {SH_NVR}


class Dnf:
    """dnf 4 on a scratch root: the installroot's own rpmdb, a dnf.conf of
    its own (-c: not the host's), no system repos, only the --repofrompath
    ones; kernels installonly as in Fedora's dnf.conf."""
    test_install = ("--setopt=tsflags=test",)  # resolve and test the transaction only

    def __init__(self):
        self.conf = os.path.join(top, "dnf.conf")
        with open(self.conf, "w") as f:
            f.write("[main]\ngpgcheck=0\nreposdir=/dev/null\nplugins=0\n"
                    "installonlypkgs=kernel\ninstallonly_limit=3\nprotect_running_kernel=0\n"
                    "clean_requirements_on_remove=1\nbest=0\nskip_if_unavailable=0\n")

    def pkg(self, name, version_release=None):
        return name + "-" + version_release if version_release else name

    def __call__(self, root, repos, verb, *pkgs, options=()):
        args = ["dnf", "-y", "-c", self.conf, "--installroot", root, "--releasever", "12"]
        for name, path in repos:
            args += ["--repofrompath", "%s,%s" % (name, path)]
        return run(*args, {"install": "install", "upgrade": "upgrade", "remove": "remove"}[verb], *options, *pkgs)


class Zypper:
    """zypper on a scratch root: plain-dir repositories added to the root;
    ZYPP_CONF points libzypp at the root's zypp.conf, which makes kernels
    multiversion as SUSE's default zypp.conf does (without that line, the
    update scenarios see the old kernel replaced)."""
    test_install = ("--dry-run",)

    def pkg(self, name, version_release=None):
        return name + "=" + version_release if version_release else name

    def __call__(self, root, repos, verb, *pkgs, options=()):
        conf = os.path.join(root, "etc/zypp/zypp.conf")
        env = dict(os.environ, ZYPP_CONF=conf)
        if not os.path.exists(conf):
            os.makedirs(os.path.dirname(conf), exist_ok=True)
            with open(conf, "w") as f:
                f.write("[main]\nmultiversion = provides:multiversion(kernel)\n")
        z = ["zypper", "--root", root, "--non-interactive"]
        have = {os.path.basename(p)[:-len(".repo")]
                for p in glob.glob(os.path.join(root, "etc/zypp/repos.d/*.repo"))}
        wanted = {name for name, _ in repos}
        for name, path in repos:
            if name not in have:
                r = run(*z, "addrepo", "-G", "file://" + path, name, env=env)
                if r.returncode:
                    return r
        for name in sorted(have - wanted):
            run(*z, "removerepo", name, env=env)
        return run(*z, "--no-gpg-checks", {"install": "install", "upgrade": "update", "remove": "remove"}[verb],
                   *options, *pkgs, env=env)


resolver = {"dnf": Dnf, "zypper": Zypper}[resolver_name]()


# What every root holds: what kabi-deps-triggers' file triggers run (sh,
# depmod, kabi-deps weak-modules), made once and copied, and in its rpm
# database a package standing for bash: it provides the /bin/sh the triggers
# package requires (its files are copied in, not packaged).
SH_SPEC = """Name: test-root-sh
Version: 1
Release: 1
Summary: the scratch root's /bin/sh, copied in from the host
License: GPL-2.0-only
BuildArch: noarch
Provides: /bin/sh
%description
test
%files
"""
template_root = os.path.join(top, "template-root")
trigger_root(template_root)
os.symlink("/usr/bin/kmod", os.path.join(template_root, "usr/sbin/depmod"))
install_kabi_deps(template_root, builddir)
os.makedirs(os.path.join(top, "sh"))
sh_builder = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=os.path.join(top, "sh"))
sh_built = sh_builder.build("test-root-sh", SH_SPEC, top)
check(sh_built.returncode == 0, "a package providing /bin/sh builds", sh_built.stderr[-1500:])
run("rpm", "--root", template_root, "--initdb", check=True)
sh_installed = run("rpm", "--root", template_root, "-i", sh_builder.rpm("test-root-sh"))
check(sh_installed.returncode == 0, "the roots' rpm database has it", sh_installed.stderr)
triggers_sources = os.path.join(top, "triggers-src")
triggers_spec = triggers_package(srcdir, triggers_sources)


def copy_root(src, dest):
    """cp -a: device nodes and symlinks as they are."""
    run("cp", "-a", src + "/.", dest, check=True)


def fresh_root():
    root = tempfile.mkdtemp(prefix="root-", dir=top)
    copy_root(template_root, root)
    return root


def weak_links(root):
    """Everything below the kernels' weak-updates/: {path in the root: link target, None if no link}."""
    out = {}
    for d, _, files in os.walk(os.path.join(root, "usr/lib/modules")):
        for f in files:
            p = os.path.join(d, f)
            if "/weak-updates/" in p:
                out["/" + os.path.relpath(p, os.path.join(root, "usr"))] = os.readlink(p) if os.path.islink(p) else None
    return out


def owner(root, path):
    r = run("rpm", "--root", root, "-qf", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}\n", path)
    return r.stdout.strip() if r.returncode == 0 else None


def check_weak_links(root, label, want):
    """The weak links are exactly want: {link path: (relative target, the package owning what it reaches)}."""
    got = weak_links(root)
    reached = {}
    for path, target in got.items():
        if target and not target.startswith("/") and os.path.exists(os.path.join(root, path.lstrip("/"))):
            reached[path] = (target, owner(root, os.path.normpath(os.path.join(os.path.dirname(path), target))))
    check(got.keys() == want.keys() and reached == want,
          "%s: weak links %s" % (label, " ".join("%s -> %s (%s)" % (p, t, o) for p, (t, o) in sorted(want.items()))
                                 or "none"),
          "want %s\ngot  %s (reaching %s)" % (want, got, reached))


def missing_dep(output):
    """The dependency a refusal names as missing, as the resolver prints it."""
    m = re.search(r"nothing provides '?(.+?)'? needed by", output)
    return m.group(1) if m else None


# ---- the scenarios -------------------------------------------------------------
def scenarios(s):
    """What each resolver must do, with the packages it must leave installed."""
    k = s.K
    K0, K1, K2 = k["base"], k["same"], k["broken"]
    T = s.TRIG  # the kmods require it: the resolvers install it with them
    # the kmod, built for the base kernel, linked into the ABI-keeping one
    link = "/lib/modules/%s/weak-updates/kmp/kmp.ko" % krel("same")
    linked = lambda kmod: {link: ("../../../%s/extra/kmp/kmp.ko" % krel("base"), kmod)}  # noqa: E731
    vr = {role: "%s-%d" % (kversion, n) for role, n in ROLES.items()}
    kernel = lambda role: resolver.pkg(s.kernel_name, vr[role])  # noqa: E731
    start = [(("base", "kmods"), "install", kernel("base")), (("base", "kmods"), "install", "kmp-kmod")]
    same = start + [(("base", "same", "kmods"), "upgrade")]
    # what stays beside the kernels a kmod erase (or a kernel erase taking the
    # kmod along) leaves: kabi-deps-triggers, which the kmods pulled in
    unpulled = {
        # dnf.conf(5) clean_requirements_on_remove (on, as in Fedora's dnf.conf):
        # "Remove dependencies that are no longer used during dnf remove"
        "dnf": (set(), "dnf removes kabi-deps-triggers with it"),
        # zypper(8) remove: unneeded dependencies go only with --clean-deps
        "zypper": ({T}, "zypper keeps kabi-deps-triggers"),
    }[resolver_name]
    removed_with = {
        # dnf(8) remove: "Removes the specified packages from the system along
        # with any packages depending on the packages being removed."
        "dnf": ({K2}, "dnf removes the kmod with it (dnf(8): remove takes the packages depending on it along)"),
        # zypper(8) remove: "will uninstall the selected and their dependent
        # packages.  It will not try to install alternatives ..."
        "zypper": ({K2}, "zypper removes the kmod with it (zypper(8): remove uninstalls the dependent packages)"),
    }[resolver_name]
    pulled_kernel_after_erase = {
        # dnf.conf(5) clean_requirements_on_remove adds "(installonlypkgs are
        # never automatically removed.)", but dnf 4.14 lists the kernel under
        # "Removing unused dependencies" all the same.
        "dnf": (set(), "dnf removes the kernel it pulled in too (clean_requirements_on_remove)"),
        "zypper": ({K0}, "zypper keeps the kernel it pulled in (no --clean-deps)"),
    }[resolver_name]
    return [
        ("the kmod alone pulls the kernel it fits (not the newer, incompatible one)",
         [(("base", "broken", "kmods"), "install", "kmp-kmod")], {K0, s.KMOD, T}, None),
        ("with only an incompatible kernel the install is refused, naming the kernel ABI it misses",
         [(("broken", "kmods"), "install", "kmp-kmod")], set(), "refused"),
        ("two modules of one package, one using the other's export, pull the kernel",
         [(("base", "broken", "kmods"), "install", "kmp-pair")], {K0, s.PAIR, T}, None),
        ("a kmod using another kmod's export pulls that kmod and the kernel",
         [(("base", "broken", "kmods"), "install", "kmp-user")], {K0, s.KMOD, s.USER, T}, None),
        ("a kernel update keeping the ABI installs beside the old one; the kmod stays, linked into it",
         same, {K0, K1, s.KMOD, T}, linked(s.KMOD)),
        ("an ABI-breaking kernel update installs beside the old one; the kmod stays, nothing downgraded, "
         "not linked into it",
         start + [(("base", "broken", "kmods"), "upgrade")], {K0, K2, s.KMOD, T}, {}),
        ("removing the old kernel the kmod needs: " + removed_with[1],
         start + [(("base", "broken", "kmods"), "upgrade"), (("base", "broken", "kmods"), "remove", kernel("base"))],
         removed_with[0] | unpulled[0], {}),
        ("removing the old kernel while an ABI-compatible one stays: the kmod stays, linked into that one",
         same + [(("base", "same", "kmods"), "remove", kernel("base"))], {K1, s.KMOD, T}, linked(s.KMOD)),
        ("kmod upgrade beside two kernels: the new kmod replaces the old, the kernels stay, the link reaches it",
         same + [(("base", "same", "kmods", "kmods-update"), "upgrade", "kmp-kmod")], {K0, K1, s.KMOD2, T},
         linked(s.KMOD2)),
        ("kmod erase beside two kernels: the kmod goes, the kernels stay, " + unpulled[1],
         same + [(("base", "same", "kmods"), "remove", "kmp-kmod")], {K0, K1} | unpulled[0], {}),
        ("kmod erase after the kmod pulled its kernel in: " + pulled_kernel_after_erase[1],
         [(("base", "kmods"), "install", "kmp-kmod"), (("base", "kmods"), "remove", "kmp-kmod")],
         pulled_kernel_after_erase[0] | unpulled[0], None),
    ]


snapshots = {}  # (style, steps) -> a root those steps left, for scenarios starting alike


def run_steps(s, steps):
    """A scratch root the steps were run on (from a copy of the longest run
    of the same first steps), and the last command's result."""
    done, root = 0, None
    for n in range(len(steps) - 1, 0, -1):
        if (s.label, tuple(steps[:n])) in snapshots:
            root = tempfile.mkdtemp(prefix="root-", dir=top)
            copy_root(snapshots[s.label, tuple(steps[:n])], root)
            done = n
            break
    root = root or fresh_root()
    r = None
    for i in range(done, len(steps)):
        repos, verb, *pkgs = steps[i]
        r = resolver(root, [(name, s.repos[name]) for name in repos], verb, *pkgs)
        if r.returncode:
            break
        key = (s.label, tuple(steps[:i + 1]))
        if i + 1 < len(steps) and key not in snapshots:
            snapshots[key] = tempfile.mkdtemp(prefix="snapshot-", dir=top)
            copy_root(root, snapshots[key])
    return root, r


def run_scenarios(s):
    for what, steps, want, extra in scenarios(s):
        root, r = run_steps(s, steps)
        got = installed(root)
        out = (r.stdout + r.stderr) if r else ""
        label = "%s %s: %s" % (resolver_name, s.label, what)
        if extra == "refused":
            dep = missing_dep(out)
            check(r.returncode != 0 and got == want and dep is not None and
                  dep in s.deps(s.KMOD, "requires") and dep not in s.deps(s.K["broken"], "provides"),
                  "%s (%s)" % (label, dep),
                  "exit %d, installed %s, missing dependency named: %s\n%s" % (r.returncode, sorted(got), dep, out[-1500:]))
        else:
            check(r.returncode == 0 and got == want, "%s: %s" % (label, " ".join(sorted(got)) or "nothing installed"),
                  "exit %d\nwant %s\ngot  %s\n%s" % (r.returncode, sorted(want), sorted(got), out[-2000:]))
        if isinstance(extra, dict):
            check_weak_links(root, "%s %s: %s" % (resolver_name, s.label, what.split(":")[0]), extra)
        shutil.rmtree(root)
    nover_scenarios(s)


def nover_scenarios(s):
    """A module without modversions says nothing about symbols: it requires
    the kernel build it was built for (doc/dependencies.md), as SUSE names it
    or, for a release rpm takes for no version, in the dependency's name;
    the kernel packages provide it through kabi-deps' kernel side."""
    label = "%s %s: a module without modversions" % (resolver_name, s.label)
    reqs = s.deps(s.NOVER, "requires")
    want = ("kernel-uname-r = " + krel("base")) if s.suse else uname_r(krel("base"))
    if not check(want in reqs, "%s requires %s" % (label, want), sorted(reqs)):
        return
    root, r = run_steps(s, [(("same", "broken", "kmods"), "install", "kmp-nover")])
    got = installed(root)
    out = r.stdout + r.stderr
    check(r.returncode != 0 and not got and "kernel-uname-r" in (missing_dep(out) or ""),
          label + " is refused without its own release's kernel, even an ABI-compatible one",
          "exit %d, installed %s\n%s" % (r.returncode, sorted(got), out[-1500:]))
    shutil.rmtree(root)
    root, r = run_steps(s, [(("base", "same", "broken", "kmods"), "install", "kmp-nover")])
    got = installed(root)
    check(r.returncode == 0 and got == {s.K["base"], s.NOVER, s.TRIG},
          label + " pulls its own release's kernel: " + " ".join(sorted(got)),
          "exit %d\n%s" % (r.returncode, (r.stdout + r.stderr)[-1500:]))
    shutil.rmtree(root)


def check_agrees(s):
    """For every kmod and kernel: `kabi-deps check` exit 0/1 equals whether
    the resolver installs the two together (RPM files given, no repositories,
    a test transaction)."""
    root = fresh_root()
    disagree, pairs = [], 0
    for kmod in (s.KMOD, s.PAIR, s.USER, s.NOVER):
        for role, kern in s.K.items():
            c = run(kabi_deps, "check", s.rpms[kmod], "--kernel", s.rpms[kern])
            d = resolver(root, [], "install", s.rpms[kmod], s.rpms[kern], s.rpms[s.TRIG],
                         options=resolver.test_install)
            pairs += 1
            if c.returncode not in (0, 1) or (c.returncode == 0) != (d.returncode == 0):
                disagree.append("%s + %s: check exit %d, %s exit %d\n%s%s" % (
                    kmod, kern, c.returncode, resolver_name, d.returncode, c.stdout[-400:], (d.stdout + d.stderr)[-400:]))
    check(not disagree and not installed(root),
          "%s %s: kabi-deps check agrees with %s on all %d kmod/kernel pairs" % (resolver_name, s.label, resolver_name, pairs),
          "\n".join(disagree))
    shutil.rmtree(root)


modules_dir = build_modules()
for label, symsets_style, suse in STYLES:
    style = Style(label, symsets_style, suse)
    style.build_all()
    if check.failed:
        break
    run_scenarios(style)
    check_agrees(style)

if check.failed:
    print("scratch files kept in " + top)
else:
    shutil.rmtree(top)
check.finish()
