#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kabi-deps-triggers: kmod RPMs built from plain specs are installed and
erased with `rpm --root` in a scratch usr-merged root that holds a kernel's
module tree, sh and depmod; the file triggers (taken from
packaging/kabi-deps.spec) must run depmod once per release and transaction,
upgrades included, and RHEL's weak-modules with the paths added and really
removed.  Then, without RHEL's script and with kabi-deps in the root, a
second kernel's package and the kmods come and go: kabi-deps weak-modules
must keep exactly the fitting weak links, depmod still once per kernel."""
import atexit, gzip, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import (UNSIGNED_OK, Checks, RpmBuilder, install_kabi_deps, kernel_headers,  # noqa: E402
                      make_modules, run, trigger_root, trigger_stanzas, triggers_package)

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
if os.geteuid() != 0:
    print("SKIP: rpm --root runs the triggers chrooted: needs root")
    sys.exit(77)
check = Checks()
kbuild, kver = kernel_headers()
top = tempfile.mkdtemp(prefix="kabi-trig-")
root = os.path.join(top, "root")
LIBEXEC = run("rpm", "--eval", "%{_libexecdir}").stdout.strip()


# ---- the scratch root: usr-merged, sh, depmod (logging), weak-modules stub
trigger_root(root)
# kmod acts by the name it is called with; the logging wrapper calls it "depmod"
os.makedirs(os.path.join(root, "usr/lib/kabi-test"))
os.symlink("/usr/bin/kmod", os.path.join(root, "usr/lib/kabi-test/depmod"))
with open(os.path.join(root, "usr/sbin/depmod"), "w") as f:
    f.write('#!/bin/sh\necho "$*" >>/var/log/depmod.calls\nexec /usr/lib/kabi-test/depmod "$@"\n')
with open(os.path.join(root, "usr/sbin/weak-modules"), "w") as f:
    f.write('#!/bin/sh\n{ echo "== $*"; while IFS= read -r l; do echo "$l"; done; } >>/var/log/weak-modules.calls\n')
for f in ("usr/sbin/depmod", "usr/sbin/weak-modules"):
    os.chmod(os.path.join(root, f), 0o755)
moddir = os.path.join(root, "usr/lib/modules", kver)
os.makedirs(moddir)
for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
    open(os.path.join(moddir, f), "w").close()


def log(name):
    p = os.path.join(root, "var/log", name)
    return open(p).read() if os.path.exists(p) else ""


def modules_dep():
    p = os.path.join(moddir, "modules.dep")
    return open(p).read() if os.path.exists(p) else ""


chroot_env = None  # the environment of rpm, and so of the triggers


def rpm_root(*args):
    """rpm on the scratch root; the kmods' kernel() Requires cannot be met there.
    stderr without the note Debian's rpm adds to every install, and rpm 4.20's
    about running inside a chroot already (the Debian 13 test)."""
    r = run("rpm", "--root", root, *(args if args == ("--initdb",) else ("--nodeps",) + UNSIGNED_OK + args),
            env=chroot_env)
    r.stderr = "\n".join(l for l in r.stderr.splitlines()
                         if not l.startswith(("rpm: ", "warning: private mounts in chroot")))
    return r


# ---- the triggers package: the stanzas exactly as kabi-deps.spec has them
stanzas = trigger_stanzas(srcdir)
check(sorted(k for k, _ in stanzas) == ["%preun", "%transfiletriggerin", "%transfiletriggerpostun",
                                        "%transfiletriggerpostun", "%transfiletriggerun"],
      "kabi-deps.spec has the in, un and (one per prefix) postun file triggers of the triggers package, "
      "and its %preun", stanzas)
sources = os.path.join(top, "SOURCES")
TRIGGERS_SPEC = triggers_package(srcdir, sources)

rb = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=top, triggers=True)
r = rb.build("kabi-deps-triggers", TRIGGERS_SPEC, sources)
check(r.returncode == 0, "the triggers package builds", r.stderr[-1500:])

# ---- kmods with plain specs: modules built once against the installed headers
mods = make_modules(kbuild, [os.path.join(srcdir, "examples/kmp/hello.c"),
                             os.path.join(srcdir, "tests/rpm/data/user.c")],
                    "obj-m := kmp.o user.o\nkmp-y += hello.o\n", os.path.join(top, "mods"))
KMOD_SPEC = """Name: %(name)s
Version: 1
Release: 1
Summary: test kmod
License: GPL-2.0-only
BuildRequires: kabi-deps
%%global debug_package %%{nil}
%%description
A plain spec: no scriptlets.
%%install
install -D -m 644 %(mods)s/%(ko)s "%%{buildroot}%(dest)s"
%%files
"%(dest)s"
"""


def kmod(name, ko, dest, version="1", builder=None):
    builder = builder or rb
    spec = KMOD_SPEC.replace("Version: 1", "Version: " + version)
    r = builder.build(name, spec % dict(name=name, mods=mods, ko=ko, dest=dest), sources)
    check(r.returncode == 0, "%s-%s builds" % (name, version), r.stderr[-1500:])
    return builder.rpm(name)


def next_builder(name):
    """Another _topdir, for later versions of a package (rb.rpm() wants one)."""
    os.makedirs(os.path.join(top, name))
    return RpmBuilder(builddir, srcdir, kbuild, kver, topdir=os.path.join(top, name), triggers=True)


A = "/lib/modules/%s/extra/a/kmp.ko" % kver
A3 = "/lib/modules/%s/updates/a3/kmp.ko" % kver
B = "/usr/lib/modules/%s/updates/b/user.ko" % kver
C = "/lib/modules/%s/extra/c d/with space.ko" % kver
a = kmod("kmod-a", "kmp.ko", A)
b = kmod("kmod-b", "user.ko", B)
c = kmod("kmod-c", "user.ko", C)
other = kmod("kmod-other", "user.ko", "/lib/modules/0.0-not-installed/extra/x.ko")
a2 = kmod("kmod-a", "kmp.ko", A, "2", next_builder("v2"))
a3 = kmod("kmod-a", "kmp.ko", A3, "3", next_builder("v3"))
check("kabi-deps-triggers" in run("rpm", "-qp", "--requires", a).stdout,
      "a plain-spec kmod requires kabi-deps-triggers")
state = os.path.join(root, "var/lib/rpm-state/kabi-deps/removed")
ONCE = ["-a " + kver]


def transaction(*args):
    """rpm on the scratch root, the call logs emptied first."""
    for name in ("depmod.calls", "weak-modules.calls"):
        open(os.path.join(root, "var/log", name), "w").close()
    return rpm_root(*args)


def in_dep(path):
    return re.search("^" + re.escape(path.split("/%s/" % kver, 1)[1]) + ":", modules_dep(), re.M)


check(rpm_root("--initdb").returncode == 0, "rpm --root --initdb")

# the triggers package and a kmod in one transaction, as dnf installs them
r = transaction("-i", rb.rpm("kabi-deps-triggers"), a)
check(r.returncode == 0 and not r.stderr.strip(), "kabi-deps-triggers and kmod-a install, quietly", r.stderr)
check(log("depmod.calls").splitlines() == ONCE, "depmod -a RELEASE ran once", log("depmod.calls"))
check(in_dep(A), "kmp.ko is in modules.dep", modules_dep())
check(log("weak-modules.calls") == "== --add-modules\n%s\n" % A,
      "weak-modules --add-modules got the module's path", log("weak-modules.calls"))

# two kmods in one transaction, one usr-merged path, one name with spaces
r = transaction("-i", b, c)
check(r.returncode == 0 and not r.stderr.strip(), "kmod-b and kmod-c install in one transaction", r.stderr)
check(log("depmod.calls").splitlines() == ONCE, "depmod ran once for that transaction", log("depmod.calls"))
dep = modules_dep()
check(re.search(r"^updates/b/user\.ko: extra/a/kmp\.ko$", dep, re.M),
      "user.ko (under /usr/lib/modules) is in modules.dep, depending on kmp.ko", dep)
check(in_dep(C), "a module path with spaces is in modules.dep", dep)
wm = log("weak-modules.calls").splitlines()
check(wm[:1] == ["== --add-modules"] and sorted(wm[1:]) == sorted([B, C]),
      "weak-modules got both paths in one call, the one with spaces intact", wm)

# a release whose kernel is not installed: no depmod, no failure
r = transaction("-i", other)
check(r.returncode == 0 and not r.stderr.strip() and not log("depmod.calls"),
      "a module of a kernel that is not installed: no depmod, no failure", (r.stderr, log("depmod.calls")))

def used_up(path):
    """The state of un is empty, or was never written (nothing was kept)."""
    return not os.path.exists(path) or os.path.getsize(path) == 0


# upgrade in place: the old files' paths are kept by un, but nothing is gone
r = transaction("-U", a2)
check(r.returncode == 0 and not r.stderr.strip(), "kmod-a upgrades to 2 in place", r.stderr)
check(log("depmod.calls").splitlines() == ONCE, "depmod ran once for the upgrade", log("depmod.calls"))
check(in_dep(A), "kmp.ko is still in modules.dep", modules_dep())
check(log("weak-modules.calls") == "== --add-modules\n%s\n" % A,
      "weak-modules: the upgraded module added, not removed", log("weak-modules.calls"))
check(used_up(state), "the paths kept by un are used up")

# upgrade that moves the module: removed and added in one pass
r = transaction("-U", a3)
check(r.returncode == 0 and not r.stderr.strip(), "kmod-a upgrades to 3, its module moved", r.stderr)
check(log("depmod.calls").splitlines() == ONCE, "depmod ran once for that upgrade", log("depmod.calls"))
check(in_dep(A3) and not in_dep(A), "modules.dep has the new path, not the old", modules_dep())
check(log("weak-modules.calls") == "== --remove-modules\n%s\n== --add-modules\n%s\n" % (A, A3),
      "weak-modules: the old path removed, then the new one added", log("weak-modules.calls"))

# erase
r = transaction("-e", "kmod-a")
check(r.returncode == 0 and not r.stderr.strip(), "kmod-a erases", r.stderr)
check(log("depmod.calls").splitlines() == ONCE, "depmod ran once after the erase", log("depmod.calls"))
check(not in_dep(A3), "kmp.ko is gone from modules.dep", modules_dep())
check(log("weak-modules.calls") == "== --remove-modules\n%s\n" % A3,
      "weak-modules --remove-modules got the module's path", log("weak-modules.calls"))
check(used_up(state), "the paths kept for postun are used up")

# never failing the transaction: a depmod and a weak-modules that fail
for f in ("usr/sbin/depmod", "usr/sbin/weak-modules"):
    with open(os.path.join(root, f), "w") as g:
        g.write("#!/bin/sh\necho failing >&2\nexit 1\n")
r = transaction("-e", "kmod-b", "kmod-c", "kmod-other")
check(r.returncode == 0 and not r.stderr.strip(), "a failing depmod or weak-modules does not fail the "
      "transaction, nor show", r.stderr)
check(used_up(state), "the paths kept for postun are used up")

# ---- kabi-deps weak-modules where the system has no weak-modules
os.unlink(os.path.join(root, "usr/sbin/weak-modules"))
with open(os.path.join(root, "usr/sbin/depmod"), "w") as f:
    f.write('#!/bin/sh\necho "$*" >>/var/log/depmod.calls\nexec /usr/lib/kabi-test/depmod "$@"\n')
kabi_deps = os.path.join(builddir, "plugin/kabi-deps")
install_kabi_deps(root, builddir)
# A sanitized build needs /proc (its own name, the leak check's threads):
# mounted in the root for this part; reports go into the root, checked at the end.
sanitizer_logs = os.path.join(root, "var/log/sanitizer")
proc = os.path.join(root, "proc")
if "libasan" in run("ldd", kabi_deps).stdout:
    os.makedirs(sanitizer_logs)
    os.makedirs(proc)
    m = run("mount", "-t", "proc", "proc", proc)
    check(m.returncode == 0, "/proc mounted in the root for the sanitized kabi-deps", m.stderr)
    atexit.register(run, "umount", proc)
    chroot_env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:log_path=/var/log/sanitizer/asan",
                      UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=/var/log/sanitizer/ubsan")
r = run("chroot", root, "/usr/bin/kabi-deps", "weak-modules", "--help", env=chroot_env)
check(r.returncode == 0, "kabi-deps runs inside the root", r.stderr)
# kernel references for the kernel of the headers: its Module.symvers, and a
# module built against them as in-tree module (vermagic, struct module)
with open(os.path.join(kbuild, "Module.symvers"), "rb") as f:
    symvers = f.read()
with gzip.open(os.path.join(moddir, "symvers.gz"), "wb") as f:
    f.write(symvers)
os.makedirs(os.path.join(moddir, "kernel/intree"))
shutil.copy(os.path.join(mods, "user.ko"), os.path.join(moddir, "kernel/intree/intree.ko"))
with open(os.path.join(moddir, "modules.order"), "w") as f:
    f.write("kernel/intree/intree.ko\n")
# and a package of a second kernel of the same ABI
K2 = "0.0.2-same-abi"
ksrc = os.path.join(top, "kernel-two-files")
os.makedirs(ksrc)
shutil.copy(os.path.join(mods, "user.ko"), os.path.join(ksrc, "intree.ko"))
with gzip.open(os.path.join(ksrc, "symvers.gz"), "wb") as f:
    f.write(symvers)
KERNEL_SPEC = """Name: kernel-two
Version: 1
Release: 1
Summary: a second kernel
License: GPL-2.0-only
%%global debug_package %%{nil}
%%description
test
%%install
d=%%{buildroot}/usr/lib/modules/%(k)s
install -D -m 644 %(src)s/intree.ko $d/kernel/intree/intree.ko
install -m 644 %(src)s/symvers.gz $d/symvers.gz
echo kernel/intree/intree.ko >$d/modules.order
touch $d/modules.builtin $d/modules.builtin.modinfo
%%files
/usr/lib/modules/%(k)s
""" % dict(k=K2, src=ksrc)
kb = next_builder("kernel-two")
r = kb.build("kernel-two", KERNEL_SPEC, sources)
check(r.returncode == 0, "the second kernel's package builds", r.stderr[-1500:])
kernel_two = kb.rpm("kernel-two")
weak = os.path.join(root, "usr/lib/modules", K2, "weak-updates/a/kmp.ko")


def weak_links():
    out = []
    for d, _, files in os.walk(os.path.join(root, "usr/lib/modules")):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files
                if "/weak-updates/" in os.path.join(d, f) + "/"]
    return sorted(out)


r = transaction("-i", a)
check(r.returncode == 0 and not r.stderr.strip(), "kmod-a installs (one kernel)", r.stderr)
check(log("depmod.calls").splitlines() == ONCE and weak_links() == [], "kabi-deps weak-modules: depmod -a "
      "RELEASE once, no weak link", (log("depmod.calls"), weak_links()))
r = transaction("-i", kernel_two)
check(r.returncode == 0 and not r.stderr.strip(), "the second kernel installs", r.stderr)
check(weak_links() == ["usr/lib/modules/%s/weak-updates/a/kmp.ko" % K2],
      "a kernel's arrival: kmod-a is linked into it", weak_links())
check(os.path.islink(weak) and os.readlink(weak) == "../../../%s/extra/a/kmp.ko" % kver,
      "the link is relative", os.path.islink(weak) and os.readlink(weak))
check(log("depmod.calls").splitlines() == ["-a " + K2], "depmod ran once, for the kernel whose links changed",
      log("depmod.calls"))
check(re.search(r"^weak-updates/a/kmp\.ko:", open(os.path.join(root, "usr/lib/modules", K2, "modules.dep")).read(),
                re.M), "the weak link is in that kernel's modules.dep")
r = transaction("-e", "kernel-two")
check(r.returncode == 0 and not r.stderr.strip() and weak_links() == [],
      "the kernel's removal: its weak link is gone", (r.stderr, weak_links()))
check(not os.path.exists(os.path.join(root, "usr/lib/modules", K2, "weak-updates")), "and its emptied "
      "weak-updates/")
r = transaction("-i", kernel_two)
check(r.returncode == 0 and os.path.islink(weak), "the kernel back: linked again", weak_links())
# the triggers package erased with the last kmod (dnf's clean_requirements_on_remove):
# rpm runs none of its file triggers, its %preun does the postun work
r = transaction("-e", "kmod-a", "kabi-deps-triggers")
check(r.returncode == 0 and not r.stderr.strip() and weak_links() == [],
      "kmod-a's removal with kabi-deps-triggers: its weak link is gone", (r.stderr, weak_links()))
check(sorted(log("depmod.calls").splitlines()) == sorted(ONCE + ["-a " + K2]),
      "depmod once for each kernel", log("depmod.calls"))
r = transaction("-i", rb.rpm("kabi-deps-triggers"))
check(r.returncode == 0 and not r.stderr.strip() and weak_links() == [], "kabi-deps-triggers back alone: "
      "no weak link", (r.stderr, weak_links()))
# RHEL's script present, the configuration choosing kabi-deps
with open(os.path.join(root, "usr/sbin/weak-modules"), "w") as f:
    f.write('#!/bin/sh\necho called >>/var/log/weak-modules.calls\n')
os.chmod(os.path.join(root, "usr/sbin/weak-modules"), 0o755)
os.makedirs(os.path.join(root, "etc/kabi-deps"))
with open(os.path.join(root, "etc/kabi-deps/triggers.conf"), "w") as f:
    f.write("# kabi-deps in place of RHEL's weak-modules\nweak_modules=kabi-deps\n")
r = transaction("-i", a)
check(r.returncode == 0 and os.path.islink(weak) and not log("weak-modules.calls"),
      "weak_modules=kabi-deps in triggers.conf: kabi-deps links, RHEL's script is not called",
      (r.stderr, weak_links(), log("weak-modules.calls")))
with open(os.path.join(root, "etc/kabi-deps/triggers.conf"), "w") as f:
    f.write("weak_modules=none\n")
r = transaction("-e", "kmod-a")
check(r.returncode == 0 and os.path.islink(weak) and not log("weak-modules.calls"),
      "weak_modules=none: no weak-modules at all (the link, now dangling, stays)", weak_links())
# a kabi-deps that cannot do it (older, or broken): the depmods still run
with open(os.path.join(root, "etc/kabi-deps/triggers.conf"), "w") as f:
    f.write("weak_modules=kabi-deps\n")
os.rename(os.path.join(root, "usr/bin/kabi-deps"), os.path.join(root, "usr/bin/kabi-deps.real"))
with open(os.path.join(root, "usr/bin/kabi-deps"), "w") as f:
    f.write("#!/bin/sh\necho 'kabi-deps: unknown command' >&2\nexit 2\n")
os.chmod(os.path.join(root, "usr/bin/kabi-deps"), 0o755)
r = transaction("-i", a)
check(r.returncode == 0 and not r.stderr.strip() and log("depmod.calls").splitlines() == ONCE,
      "a kabi-deps without weak-modules: depmod -a RELEASE still ran once", (r.stderr, log("depmod.calls")))
if os.path.isdir(sanitizer_logs):
    reports = [open(os.path.join(sanitizer_logs, f)).read() for f in sorted(os.listdir(sanitizer_logs))]
    check(not [t for t in reports if "ERROR" in t or "runtime error" in t], "no sanitizer reports from the "
          "triggers' kabi-deps", reports)
if os.path.ismount(proc):
    run("umount", proc)

shutil.rmtree(top)
check.finish()
