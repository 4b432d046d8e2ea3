"""Shared pieces of kabi-deps' end-to-end tests: verdict lines, the
installed kernel headers, rpmbuild with kabi-deps from the build tree, and
rpm's own reading of built packages.  No path goes through a shell."""
import glob, os, re, subprocess, sys, tempfile


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
