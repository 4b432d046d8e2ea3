#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kabi-deps-triggers: kmod RPMs built from plain specs are installed and
erased with `rpm --root` in a scratch usr-merged root that holds a kernel's
module tree, sh and depmod; the file triggers (taken from
packaging/kabi-deps.spec) must run depmod once per release and transaction,
upgrades included, and weak-modules with the paths added and really removed."""
import os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import UNSIGNED_OK, Checks, RpmBuilder, kernel_headers, make_modules, run  # noqa: E402

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
def copy_with_libs(binary):
    """Copy a host binary and the shared libraries it loads into the root."""
    wanted = [binary] + re.findall(r"(/\S+\.so[.\d]*) \(0x", run("ldd", binary).stdout)
    wanted += re.findall(r"^\s*(/\S+) \(0x", run("ldd", binary).stdout, re.M)
    for f in set(wanted):
        real = os.path.realpath(f)
        dest = os.path.join(root, "usr", os.path.relpath(real, "/usr") if real.startswith("/usr/") else real.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(real, dest)
        # also under the name the loader asks for
        alias = os.path.join(root, "usr", f[len("/usr/"):] if f.startswith("/usr/") else f.lstrip("/"))
        if not os.path.exists(alias):
            os.makedirs(os.path.dirname(alias), exist_ok=True)
            shutil.copy2(real, alias)


for d in ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "tmp", "var/tmp", "var/log", "etc"):
    os.makedirs(os.path.join(root, d))
os.makedirs(os.path.join(root, "dev"))
os.mknod(os.path.join(root, "dev/null"), 0o666 | 0o020000, os.makedev(1, 3))
for link in ("bin", "sbin", "lib", "lib64"):
    os.symlink("usr/" + link, os.path.join(root, link))
copy_with_libs(os.path.realpath("/bin/sh"))
shutil.copy2(os.path.realpath("/bin/sh"), os.path.join(root, "usr/bin/sh"))
copy_with_libs(os.path.realpath("/usr/bin/kmod"))
shutil.copy2(os.path.realpath("/usr/bin/kmod"), os.path.join(root, "usr/bin/kmod"))
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


def rpm_root(*args):
    """rpm on the scratch root; the kmods' kernel() Requires cannot be met there.
    stderr without the note Debian's rpm adds to every install, and rpm 4.20's
    about running inside a chroot already (the Debian 13 test)."""
    r = run("rpm", "--root", root, *(args if args == ("--initdb",) else ("--nodeps",) + UNSIGNED_OK + args))
    r.stderr = "\n".join(l for l in r.stderr.splitlines()
                         if not l.startswith(("rpm: ", "warning: private mounts in chroot")))
    return r


# ---- the triggers package: the stanzas exactly as kabi-deps.spec has them
spec = open(os.path.join(srcdir, "packaging/kabi-deps.spec")).read()
stanzas = re.findall(r"^(%transfiletrigger\w+) triggers (-- .*\n(?:.+\n)+)", spec, re.M)
check(len(stanzas) == 3, "kabi-deps.spec has the in, un and postun file triggers of the triggers package",
      stanzas)
sources = os.path.join(top, "SOURCES")
os.makedirs(sources)
shutil.copy(os.path.join(srcdir, "packaging/depmod-trigger.sh"), sources)
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
""" % "\n".join(kind + " " + body for kind, body in stanzas)

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

shutil.rmtree(top)
check.finish()
