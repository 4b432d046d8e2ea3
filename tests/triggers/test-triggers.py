#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kabi-deps-triggers: kmod RPMs built from plain specs are installed and
erased with `rpm --root` in a scratch usr-merged root that holds a kernel's
module tree, sh and depmod; the file triggers (taken from
packaging/kabi-deps.spec) must run depmod once per release and transaction,
and weak-modules with the module paths."""
import os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import Checks, RpmBuilder, kernel_headers, make_modules, run  # noqa: E402

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
    r = run("rpm", "--root", root, *(args if args == ("--initdb",) else ("--nodeps",) + args))
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
mkdir -p %%{buildroot}%%{_localstatedir}/lib/rpm-state/kabi-deps
%s
%%files
%%{_libexecdir}/kabi-deps/depmod-trigger
%%dir %%{_localstatedir}/lib/rpm-state/kabi-deps
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


def kmod(name, ko, dest):
    r = rb.build(name, KMOD_SPEC % dict(name=name, mods=mods, ko=ko, dest=dest), sources)
    check(r.returncode == 0, name + " builds", r.stderr[-1500:])
    return rb.rpm(name)


a = kmod("kmod-a", "kmp.ko", "/lib/modules/%s/extra/a/kmp.ko" % kver)
b = kmod("kmod-b", "user.ko", "/usr/lib/modules/%s/updates/b/user.ko" % kver)
c = kmod("kmod-c", "user.ko", "/lib/modules/%s/extra/c d/with space.ko" % kver)
other = kmod("kmod-other", "user.ko", "/lib/modules/0.0-not-installed/extra/x.ko")
check("kabi-deps-triggers" in run("rpm", "-qp", "--requires", a).stdout,
      "a plain-spec kmod requires kabi-deps-triggers")

check(rpm_root("--initdb").returncode == 0, "rpm --root --initdb")
r = rpm_root("-i", rb.rpm("kabi-deps-triggers"))
check(r.returncode == 0, "the triggers package installs", r.stderr)

# one kmod
r = rpm_root("-i", a)
check(r.returncode == 0 and not r.stderr.strip(), "kmod-a installs, quietly", r.stderr)
check(log("depmod.calls").splitlines() == ["-a " + kver], "depmod -a RELEASE ran once", log("depmod.calls"))
check(re.search(r"^extra/a/kmp\.ko:", modules_dep(), re.M), "kmp.ko is in modules.dep", modules_dep())
check("== --add-modules\n/lib/modules/%s/extra/a/kmp.ko\n" % kver in log("weak-modules.calls"),
      "weak-modules --add-modules got the module's path", log("weak-modules.calls"))

# two kmods in one transaction, one usr-merged path, one name with spaces
r = rpm_root("-i", b, c)
check(r.returncode == 0, "kmod-b and kmod-c install in one transaction", r.stderr)
check(log("depmod.calls").splitlines() == ["-a " + kver] * 2, "depmod ran once for that transaction",
      log("depmod.calls"))
dep = modules_dep()
check(re.search(r"^updates/b/user\.ko: extra/a/kmp\.ko$", dep, re.M),
      "user.ko (under /usr/lib/modules) is in modules.dep, depending on kmp.ko", dep)
check("extra/c d/with space.ko:" in dep, "a module path with spaces is in modules.dep", dep)
check("/lib/modules/%s/extra/c d/with space.ko\n" % kver in log("weak-modules.calls"),
      "weak-modules got the path with spaces intact", log("weak-modules.calls"))

# a release whose kernel is not installed: no depmod, no failure
r = rpm_root("-i", other)
check(r.returncode == 0 and len(log("depmod.calls").splitlines()) == 2,
      "a module of a kernel that is not installed: no depmod, no failure", (r.stderr, log("depmod.calls")))

# erase
r = rpm_root("-e", "kmod-a")
check(r.returncode == 0, "kmod-a erases", r.stderr)
check(len(log("depmod.calls").splitlines()) == 3, "depmod ran after the erase", log("depmod.calls"))
check(not re.search(r"^extra/a/kmp\.ko:", modules_dep(), re.M), "kmp.ko is gone from modules.dep", modules_dep())
check("== --remove-modules\n/lib/modules/%s/extra/a/kmp.ko\n" % kver in log("weak-modules.calls"),
      "weak-modules --remove-modules got the module's path", log("weak-modules.calls"))

# never failing the transaction: a depmod that fails
with open(os.path.join(root, "usr/sbin/depmod"), "w") as f:
    f.write("#!/bin/sh\nexit 1\n")
r = rpm_root("-e", "kmod-b", "kmod-c", "kmod-other")
check(r.returncode == 0 and not r.stderr.strip(), "a failing depmod does not fail the transaction", r.stderr)
state = os.path.join(root, "var/lib/rpm-state/kabi-deps/removed")
check(os.path.exists(state) and os.path.getsize(state) == 0, "the paths kept for postun are used up")

shutil.rmtree(top)
check.finish()
