"""Shared pieces of kabi-deps' end-to-end tests: verdict lines, the
installed kernel headers, rpmbuild with kabi-deps from the build tree, and
rpm's own reading of built packages.  No path goes through a shell."""
import glob, os, re, shutil, subprocess, sys, tempfile


class Checks:
    """ok/FAIL lines and the closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed, self.failed = 0, []

    def __call__(self, cond, what, detail=""):
        print(("ok   " if cond else "FAIL ") + what +
              ("" if cond or not detail else "\n     " + str(detail)[:3000]))
        if cond:
            self.passed += 1
        else:
            self.failed.append(what)
        return cond

    def finish(self):
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        sys.exit(1 if self.failed else 0)


def uname_r(release):
    """The dependency on exactly one kernel build, as kabi-deps writes it
    (doc/dependencies.md): a version where rpm takes one, else in the name."""
    if release.count("-") <= 1 and re.fullmatch(r"[A-Za-z0-9._+~^-]+", release):
        return "kernel-uname-r = " + release
    return "kernel-uname-r(%s)" % release


def run(*args, **kw):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)


# The scratch packages are unsigned; rpm 6 refuses those unless told that
# digests are enough (the macro exists since rpm 4.14.2).
UNSIGNED_OK = ("--define", "_pkgverify_level digest")


def rpm_version():
    """The version of the rpm on PATH, as a tuple of ints: (4, 14, 3)."""
    out = run("rpm", "--version", check=True).stdout.split()[-1]
    return tuple(int(p) for p in out.split(".") if p.isdigit())


def rpm_fails_on_bad_dependency():
    """rpm 4.14 logs a dependency line it cannot parse as an error but goes
    on building (and ignores a generator's exit status): the strict-mode
    line cannot stop its build.  rpm 4.16 and later fail the build."""
    return rpm_version() >= (4, 16)


def kernel_headers():
    """(kbuild dir, release) of the newest installed headers; exit 77 (skip) without."""
    builds = sorted(glob.glob("/lib/modules/*/build/Module.symvers"))
    if not builds:
        print("SKIP: no kernel headers installed")
        sys.exit(77)
    kbuild = os.path.dirname(builds[-1])
    return kbuild, kbuild.split("/")[3]


def read_symvers(path):
    return [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]


def make_modules(kbuild, sources, kbuild_file, workdir):
    """Build modules from the given source files outside rpm (the truth)."""
    os.makedirs(workdir, exist_ok=True)
    for s in sources:
        with open(s, "rb") as f, open(os.path.join(workdir, os.path.basename(s)), "wb") as g:
            g.write(f.read())
    with open(os.path.join(workdir, "Kbuild"), "w") as f:
        f.write(kbuild_file)
    subprocess.run(["make", "-s", "-C", kbuild, "M=" + workdir, "modules"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return workdir


def dump_modversions(ko):
    out = run("modprobe", "--dump-modversions", ko, check=True).stdout
    return {l.split("\t")[1]: l.split("\t")[0] for l in out.splitlines()}


class RpmBuilder:
    """rpmbuild -bb of spec texts in one _topdir, kabi-deps from builddir.
    Without triggers, packages do not require kabi-deps-triggers (so that
    scratch rpm databases need no such package)."""

    def __init__(self, builddir, srcdir, kbuild, kver, topdir=None, triggers=False):
        self.builddir, self.srcdir, self.kbuild, self.kver = builddir, srcdir, kbuild, kver
        self.triggers = triggers
        self.top = topdir or tempfile.mkdtemp(prefix="kabi-rpm-")
        self.rpmbuild = os.path.join(srcdir, "tests/rpm/rpmbuild-uninstalled")

    def build(self, name, spec_text, sourcedir, defines=(), quiet_failure=False):
        spec = os.path.join(self.top, name + ".spec")
        with open(spec, "w") as f:
            f.write(spec_text)
        args = [self.rpmbuild, self.builddir, "-bb", "--nodeps", "--define", "_topdir " + self.top,
                "--define", "_sourcedir " + sourcedir, "--define", "kver " + self.kver,
                "--define", "kbuild " + self.kbuild]
        if not self.triggers:
            args += ["--define", "_kabideps_triggers %{nil}"]
        for d in defines:
            args += ["--define", d]
        r = run(*args, spec)
        if r.returncode and not quiet_failure:
            print(r.stdout[-2000:], r.stderr[-3000:])
        return r

    def rpm(self, name):
        """The one RPM of that package name built so far, or None."""
        rpms = [p for p in glob.glob(os.path.join(self.top, "RPMS/*/*.rpm"))
                if run("rpm", "-qp", "--qf", "%{NAME}", p).stdout == name]
        return rpms[0] if len(rpms) == 1 else None

    def deps(self, name, what, prefixes=None):
        """rpm -qp --WHAT of package NAME, as a set, optionally by prefixes."""
        path = self.rpm(name)
        if not path:
            return set()
        lines = set(run("rpm", "-qp", "--" + what, path, check=True).stdout.splitlines())
        return {l for l in lines if l.startswith(prefixes)} if prefixes else lines


# ---- scratch roots in which rpm's file triggers run kabi-deps weak-modules
def copy_with_libs(root, binary, dest=None):
    """Copy a host binary into the usr-merged root, at dest (a path inside
    the root; default: where it is on the host), and the shared libraries
    it loads, under their real names and the names the loader asks for."""
    out = run("ldd", binary).stdout
    wanted = set(re.findall(r"(/\S+\.so[.\d]*) \(0x", out) + re.findall(r"^\s*(/\S+) \(0x", out, re.M))
    libc = re.search(r"(/\S+/)libc\.so\.6 ", out)
    for f in wanted | {binary}:
        real = os.path.realpath(f)
        names = {real, f}
        # a library found through LD_LIBRARY_PATH (an rpm built from
        # source): also beside libc, where the root's loader looks
        if f != binary and libc and not f.startswith(("/lib", "/usr/lib")):
            names.add(os.path.join(os.path.realpath(libc.group(1)), os.path.basename(f)))
        for name in names:
            target = os.path.join(root, "usr", name[len("/usr/"):] if name.startswith("/usr/") else name.lstrip("/"))
            if not os.path.exists(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(real, target)
    if dest:
        os.makedirs(os.path.dirname(os.path.join(root, dest.lstrip("/"))), exist_ok=True)
        shutil.copy2(os.path.realpath(binary), os.path.join(root, dest.lstrip("/")))


def trigger_root(root):
    """A usr-merged root with /dev/null, sh and kmod: what the triggers'
    shell script needs (depmod is the caller's: kmod acts by its name)."""
    for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "tmp", "var/tmp", "var/log", "etc", "dev"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.mknod(os.path.join(root, "dev/null"), 0o666 | 0o020000, os.makedev(1, 3))
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink("usr/" + link, os.path.join(root, link))
    copy_with_libs(root, os.path.realpath("/bin/sh"), "/usr/bin/sh")
    copy_with_libs(root, os.path.realpath("/usr/bin/kmod"), "/usr/bin/kmod")


def install_kabi_deps(root, builddir):
    """kabi-deps and kabi-deps-tools (which runs its weak-modules) from the
    build tree into the root, where the triggers call them."""
    kabi_deps = os.path.join(builddir, "plugin/kabi-deps")
    copy_with_libs(root, kabi_deps, "/usr/bin/kabi-deps")
    copy_with_libs(root, os.path.join(builddir, "plugin/kabi-deps-tools"), "/usr/libexec/kabi-deps/kabi-deps-tools")
    # their RUNPATH, $ORIGIN/, needs /proc: the library beside libc instead
    libc = re.search(r"(/\S+/)libc\.so\.6 ", run("ldd", kabi_deps).stdout).group(1)
    shutil.copy2(os.path.realpath(os.path.join(builddir, "plugin/libkabideps.so.0")),
                 os.path.join(root, os.path.realpath(libc).lstrip("/"), "libkabideps.so.0"))


def trigger_stanzas(srcdir):
    """The file trigger and %preun stanzas of the triggers package in
    packaging/kabi-deps.spec: (kind, the rest after the package name)."""
    spec = open(os.path.join(srcdir, "packaging/kabi-deps.spec")).read()
    return re.findall(r"^(%transfiletrigger\w+|%preun) triggers((?: -- .*)?\n(?:.+\n)+)", spec, re.M)


TRIGGERS_SPEC = """Name: kabi-deps-triggers
Version: 1
Release: 1
Summary: test copy of the triggers package
License: LGPL-2.1-or-later
BuildArch: noarch
Source0: depmod-trigger.sh
%%description
test
%%install
install -D -m 755 %%{SOURCE0} %%{buildroot}%%{_libexecdir}/kabi-deps/depmod-trigger
mkdir -p %%{buildroot}/var/lib/rpm-state/kabi-deps
%s
%%files
%%{_libexecdir}/kabi-deps/depmod-trigger
%%dir /var/lib/rpm-state/kabi-deps
"""


# Where the scratch roots, like the distributions, have kabi-deps and
# their configuration and state: what meson fills into the script there.
TRIGGER_PATHS = {"@BINDIR@": "/usr/bin", "@SYSCONFDIR@": "/etc", "@LOCALSTATEDIR@": "/var"}


def depmod_trigger(srcdir, dest):
    """packaging/depmod-trigger.sh.in with the paths of a distribution's
    layout, as meson configures it for prefix /usr, written to dest."""
    text = open(os.path.join(srcdir, "packaging/depmod-trigger.sh.in")).read()
    for key, value in TRIGGER_PATHS.items():
        text = text.replace(key, value)
    assert "@" not in re.sub(r"\$@|\"\$@\"", "", text), "an unconfigured @...@ in depmod-trigger.sh.in"
    with open(dest, "w") as f:
        f.write(text)
    os.chmod(dest, 0o755)


def triggers_package(srcdir, sources):
    """The spec of a kabi-deps-triggers-1-1 with the stanzas exactly as
    kabi-deps.spec has them; its script is copied into sources."""
    os.makedirs(sources, exist_ok=True)
    depmod_trigger(srcdir, os.path.join(sources, "depmod-trigger.sh"))
    return TRIGGERS_SPEC % "\n".join(kind + rest for kind, rest in trigger_stanzas(srcdir))
