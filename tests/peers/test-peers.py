#!/usr/bin/env python3
"""kabi-deps beside the distributions' own kmod generators, with the real
peer files (Red Hat's kernel-srpm-macros, SUSE's rpm-config-SUSE).  Runs in
a private mount namespace (test-peers.sh): /usr becomes an overlay of this
machine's /usr, kabi-deps as `meson install` puts it, and the peers where
their distributions put them; plain rpmbuild then reads them all as it
would on Fedora, RHEL or SUSE.

    test-peers.py BUILDDIR SRCDIR buildroot
        A two-module kmod built with each distribution's peers installed:
        its dependencies equal kabi-deps' alone, and no peer script ran on a
        module; with %_kabideps_use_distribution_generators 1 they are what
        the peer files give, and kabi-deps said nothing.
    test-peers.py BUILDDIR SRCDIR compare KABI_DEPS
        Per file, on a sample of a real kernel (Debian 12's 6.1, fetched into
        the test cache): kabi-deps' Provides and Requires equal Red Hat's
        find-provides.ksyms/find-requires.ksyms and SUSE's find-requires.ksyms.
"""
import concurrent.futures, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import Checks, kernel_headers, run  # noqa: E402

builddir, srcdir, what = (os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3])
peers = os.path.abspath(os.environ.get("KABI_DEPS_PEERS") or os.path.join(srcdir, "..", "shared", "peers"))
RH = os.path.join(peers, "redhat-kernel-srpm-macros")
SUSE = os.path.join(peers, "suse-rpm-config")
rpmconfigdir = run("rpm", "--eval", "%{_rpmconfigdir}").stdout.strip()
fileattrsdir = run("rpm", "--eval", "%{_fileattrsdir}").stdout.strip()
work = tempfile.mkdtemp(prefix="kabi-peers-")
log = os.path.join(work, "peer-runs.log")  # every path a peer script was given
check = Checks()

# The tools the peer scripts run: without them they print nothing, and an
# empty comparison would pass.
missing = [t for t in ("gawk", "nm", "objdump", "readelf", "modprobe", "modinfo", "rpm2cpio", "cpio")
           if not shutil.which(t, path="/sbin:/usr/sbin:/usr/bin:/bin")]
if missing:
    print("FAIL: the peer scripts need %s, which this machine lacks" % ", ".join(missing))
    sys.exit(1)


def shim(real, dest):
    """dest runs real, logging the paths it is handed on stdin."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "w") as f:
        f.write('#!/bin/sh\ntee -a "%s" | "%s" "$@"\n' % (log, real))
    os.chmod(dest, 0o755)


def add_peers(stage, distro, kver, kbuild):
    """Install one distribution's kmod generators below stage/usr."""
    attrdir = stage + fileattrsdir
    if distro == "redhat":
        for a in ("provided_ksyms", "required_ksyms", "kmod", "modalias", "kabi"):
            shutil.copy(os.path.join(RH, a + ".attr"), attrdir)
        shim(os.path.join(RH, "find-provides.ksyms"), stage + "/usr/lib/rpm/redhat/find-provides.ksyms")
        shim(os.path.join(RH, "find-requires.ksyms"), stage + "/usr/lib/rpm/redhat/find-requires.ksyms")
        shim(os.path.join(RH, "modalias.prov"), stage + "/usr/lib/rpm/redhat/find-provides.d/modalias.prov")
        shim(os.path.join(RH, "kabi.sh"), stage + rpmconfigdir + "/kabi.sh")
        # find-requires.ksyms reads the kernel's Module.symvers where Fedora has it
        os.makedirs(stage + "/usr/src/kernels", exist_ok=True)
        os.symlink(kbuild, stage + "/usr/src/kernels/" + kver)
    else:
        for a in ("kmp", "firmware", "modulesload"):
            shutil.copy(os.path.join(SUSE, "fileattrs", a + ".attr"), attrdir)
        for s in ("find-provides.ksyms", "find-requires.ksyms", "find-supplements.ksyms", "firmware.prov"):
            shim(os.path.join(SUSE, "scripts", s), stage + rpmconfigdir + "/" + s)
        shutil.copy(os.path.join(RH, "symset-table"), stage + rpmconfigdir + "/symset-table")


class Overlay:
    """/usr as this machine's with a staged tree laid over it."""

    def __init__(self, name, distro=None, kver=None, kbuild=None):
        self.stage = os.path.join(work, name)
        self.upper, self.work = self.stage + "/usr", self.stage + ".work"
        os.makedirs(self.work)
        r = run("meson", "install", "-C", builddir, "--destdir", self.stage, "--no-rebuild", "--quiet")
        if r.returncode:
            print(r.stdout, r.stderr)
            sys.exit(1)
        if distro:
            add_peers(self.stage, distro, kver, kbuild)

    def __enter__(self):
        r = run("mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=/usr,upperdir=%s,workdir=%s" % (self.upper, self.work), "/usr")
        if r.returncode:
            print("SKIP: overlay mount on /usr failed: " + r.stderr.strip())
            sys.exit(77)
        return self

    def __exit__(self, *exc):
        # lazily: a process that rpmbuild left (a gpg-agent) may hold a file
        run("umount", "-l", "/usr", check=True)


def deps_of(rpm_path):
    """Every dependency rpm recorded, but rpmlib() and the package's own name."""
    out = set()
    name = run("rpm", "-qp", "--qf", "%{NAME}", rpm_path).stdout
    for kind in ("provides", "requires", "supplements", "recommends"):
        for line in run("rpm", "-qp", "--" + kind, rpm_path, check=True).stdout.splitlines():
            dep = " ".join(line.split())
            if dep.startswith("rpmlib(") or dep.split(" ")[0] in (name, name + "(x86-64)"):
                continue
            out.add(kind + ": " + dep)
    return out


def parse_script_output(kind, text):
    """A generator's output as rpm records it: one dependency per token group."""
    deps = set()
    for line in text.splitlines():
        # rpm reads "N", "N op EVR", several per line
        words = line.split()
        i = 0
        while i < len(words):
            if i + 2 < len(words) and words[i + 1] in ("=", "<", ">", "<=", ">="):
                deps.add(kind + ": " + " ".join(words[i:i + 3]))
                i += 3
            else:
                deps.add(kind + ": " + words[i])
                i += 1
    return deps


def run_peer(script, path, args=(), env=None):
    r = subprocess.run([script, *args], input=path + "\n", capture_output=True, text=True, env=env)
    return r.stdout


def peer_runs():
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [l.strip() for l in f if l.strip()]


def modules_in(paths):
    return [p for p in paths if re.search(r"\.ko(\.xz|\.zst|\.gz)?$", p)]


# ---------------------------------------------------------------- buildroot

SPEC = """Name:           peers-kmod
Version:        1.0
Release:        1
Summary:        kabi-deps beside the distribution's kmod generators
License:        GPL-2.0-only
Source0:        hello.c
Source1:        user.c
Source2:        Kbuild
BuildRequires:  kabi-deps
%global debug_package %{nil}
%description
Two modules, one using the other's export.
%prep
%setup -q -c -T
cp %{SOURCE0} %{SOURCE1} %{SOURCE2} .
%build
make -C %{kbuild} M=$PWD modules
%install
install -D -m 644 kmp.ko %{buildroot}/lib/modules/%{kver}/extra/peers/kmp.ko
install -D -m 644 user.ko %{buildroot}/lib/modules/%{kver}/extra/peers/user.ko
%files
/lib/modules/%{kver}/extra/peers/kmp.ko
/lib/modules/%{kver}/extra/peers/user.ko
"""


def build(label, defines):
    top = tempfile.mkdtemp(prefix="top-", dir=work)
    src = os.path.join(top, "SOURCES")
    os.makedirs(src)
    shutil.copy(os.path.join(srcdir, "examples/kmp/hello.c"), src)
    shutil.copy(os.path.join(srcdir, "tests/rpm/data/user.c"), src)
    with open(os.path.join(src, "Kbuild"), "w") as f:
        f.write("obj-m := kmp.o user.o\nkmp-y += hello.o\n")
    spec = os.path.join(top, "peers-kmod.spec")
    with open(spec, "w") as f:
        f.write(SPEC)
    args = ["rpmbuild", "-bb", "--nodeps", "--define", "_topdir " + top, "--define", "_sourcedir " + src,
            "--define", "kver " + kver, "--define", "kbuild " + kbuild]
    for d in defines:
        args += ["--define", d]
    r = run(*args, spec)
    rpms = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(top, "RPMS")) for f in fs]
    if not check(r.returncode == 0 and len(rpms) == 1, label + ": rpmbuild", r.stderr[-2000:]):
        return None, r.stderr
    return rpms[0], r.stderr


def expected_from_peers(distro, rpm_path):
    """What the peer files give for the package's modules, run as rpm would:
    one process per file, the path on stdin, the buildroot in the environment."""
    root = os.path.join(work, "payload-" + distro)
    os.makedirs(root)
    cpio = subprocess.run(["rpm2cpio", rpm_path], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-idm", "--quiet"], input=cpio, cwd=root, check=True)
    env = dict(os.environ, RPM_BUILD_ROOT=root)
    want = set()
    mods = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs if f.endswith(".ko"))
    for m in mods:
        if distro == "redhat":
            want |= parse_script_output("provides", run_peer("/usr/lib/rpm/redhat/find-provides.ksyms", m, env=env))
            want |= parse_script_output("requires", run_peer("/usr/lib/rpm/redhat/find-requires.ksyms", m, env=env))
            want |= parse_script_output("provides",
                                        run_peer("/usr/lib/rpm/redhat/find-provides.d/modalias.prov", m, env=env))
            want.add("provides: kmod(%s)" % re.match(r"\S+\.ko", os.path.basename(m)).group(0))  # kmod.attr
        else:
            for kind, script in (("provides", "find-provides.ksyms"), ("requires", "find-requires.ksyms"),
                                 ("supplements", "find-supplements.ksyms")):
                want |= parse_script_output(kind, run_peer(rpmconfigdir + "/" + script, m, ["peers-kmod"], env))
    return want


def test_buildroot():
    for distro, defines in (("redhat", []), ("suse", ["suse_version 1500"])):
        # kabi-deps alone: the answer the peers must not change
        with Overlay("alone-" + distro):
            alone, _ = build("kabi-deps alone (%s)" % distro, defines)
        with Overlay("beside-" + distro, distro, kver, kbuild):
            if os.path.exists(log):
                os.remove(log)
            beside, _ = build("beside %s's generators" % distro, defines)
            ran_on = modules_in(peer_runs())
            handed, err = build("%s's generators by %%_kabideps_use_distribution_generators 1" % distro,
                                defines + ["_kabideps_use_distribution_generators 1"])
            ran_after = modules_in(peer_runs())
            want = expected_from_peers(distro, handed) if handed else set()
        if not (alone and beside and handed):
            continue
        a, b, h = deps_of(alone), deps_of(beside), deps_of(handed)
        check(a == b, "%s: with the peers installed, the package says what kabi-deps alone says (%d)"
              % (distro, len(a)), "only beside: %s\nonly alone: %s" % (sorted(b - a)[:20], sorted(a - b)[:20]))
        check(not ran_on, "%s: no peer script ran on a module" % distro, ran_on[:10])
        check(any("ksym(" in d or "kernel(" in d for d in a), "%s: kabi-deps made symbol dependencies" % distro,
              sorted(a)[:10])
        check(len(ran_after) >= 2, "%s: handed back, the peer scripts ran on both modules" % distro, ran_after)
        check(h == want, "%s: handed back, the package says what the peer files give (%d)" % (distro, len(h)),
              "only in package: %s\nonly from peers: %s" % (sorted(h - want)[:20], sorted(want - h)[:20]))
        check("kabi-deps" not in err and not any("kabi-deps-triggers" in d for d in h),
              "%s: handed back, kabi-deps said and added nothing" % distro, err[-1000:])


# ---------------------------------------------------------------- compare

def fetch_kernel():
    cache = run(os.path.join(srcdir, "tests/lib/cache-dir.sh"), check=True).stdout.strip()
    r = run(os.path.join(srcdir, "tests/real/fetch-kernel.sh"), cache, "amd64")
    if r.returncode == 2:
        print("SKIP: no Debian kernel could be fetched: " + r.stderr.strip()[-300:])
        sys.exit(77)
    if r.returncode:
        print("FAIL: fetch-kernel.sh: " + r.stderr.strip()[-1000:])
        sys.exit(1)
    return r.stdout.splitlines()[:2]


def symbol_deps(text, flavor=False):
    """The kernel()/ksym() lines, with rpm's spacing."""
    pat = r"^(kernel|ksym)\(.+\)( = \S+)?$"
    return {" ".join(l.split()) for l in text.splitlines() if re.match(pat, " ".join(l.split()))}


def test_compare(kabi_deps):
    moddir, symvers = fetch_kernel()
    rel = os.path.basename(moddir)
    root = moddir[: -len("/lib/modules/" + rel)] if "/usr/lib/modules/" not in moddir else \
        moddir[: -len("/usr/lib/modules/" + rel)]
    mods = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(moddir) for f in fs if f.endswith(".ko"))
    sample = mods[::40]
    env = dict(os.environ, RPM_BUILD_ROOT=root)

    def one(m):
        rh_prov = symbol_deps(run_peer("/usr/lib/rpm/redhat/find-provides.ksyms", m, env=env))
        rh_req = symbol_deps(run_peer("/usr/lib/rpm/redhat/find-requires.ksyms", m, env=env))
        suse_req = symbol_deps(run_peer(rpmconfigdir + "/find-requires.ksyms", m, ["peers-kmod"], env))
        opts = ["--option", "kmod=none", "--option", "modalias=none", "--option", "triggers="]
        kd_prov = symbol_deps(run(kabi_deps, "provides", *opts, m).stdout)
        kd_req = symbol_deps(run(kabi_deps, "requires", "--symvers", symvers, *opts, m).stdout)
        kd_suse = symbol_deps(run(kabi_deps, "requires", "--symvers", symvers, "--option", "flavor=auto",
                                  *opts, m).stdout)
        return m, (rh_prov, kd_prov), (rh_req, kd_req), (suse_req, kd_suse)

    with Overlay("compare", "redhat", rel, os.path.dirname(symvers)) as o:
        add_peers(o.stage, "suse", rel, None)  # beside Red Hat's, in %_rpmconfigdir
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(pool.map(one, sample))
    counts = {}
    for label, idx in (("Red Hat find-provides.ksyms", 1), ("Red Hat find-requires.ksyms", 2),
                       ("SUSE find-requires.ksyms", 3)):
        bad = [(m, sorted(p - k)[:3], sorted(k - p)[:3]) for m, *pairs in results
               for p, k in [pairs[idx - 1]] if p != k]
        lines = sum(len(r[idx][0]) for r in results)
        counts[label] = lines
        check(not bad, "%s = kabi-deps on %d real modules (%d lines)" % (label, len(sample), lines),
              "\n".join("%s: peer only %s, kabi-deps only %s" % b for b in bad[:10]))
    # a peer missing a tool prints nothing: the comparison must have had content
    check(all(n > 0 for n in counts.values()), "every peer gave dependencies", counts)


if what == "buildroot":
    kbuild, kver = kernel_headers()
    test_buildroot()
elif what == "compare":
    test_compare(os.path.abspath(sys.argv[4]))
else:
    sys.exit("usage: test-peers.py BUILDDIR SRCDIR buildroot|compare [KABI_DEPS]")
shutil.rmtree(work, ignore_errors=True)
check.finish()
