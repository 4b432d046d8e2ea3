#!/usr/bin/env python3
"""End to end: the real rpmbuild of this machine builds plain kmod specs
with kabi-deps taken from the build tree, and rpm itself reads back the
Provides/Requires of the packages, checked against kbuild's Module.symvers
and `modprobe --dump-modversions`."""
import os, shutil, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import (Checks, RpmBuilder, dump_modversions, kernel_headers, make_modules,  # noqa: E402
                     rpm_fails_on_bad_dependency, rpm_version, run, uname_r)

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
# KABI_DEPS_GENERATOR (read by rpmbuild-uninstalled): singlefile is how rpm < 4.16
# runs it, a process per file, which cannot see the other files of a package.
generator = os.environ.get("KABI_DEPS_GENERATOR") or os.environ.get("KABI_DEPS_CONFIGURED_GENERATOR", "")
per_file = generator == "singlefile"
check = Checks()
kbuild, kver = kernel_headers()
kernel_syms = {l.split("\t")[1] for l in open(os.path.join(kbuild, "Module.symvers"))}

top = tempfile.mkdtemp(prefix="kabi-rpm-")
src = os.path.join(top, "SOURCES")
os.makedirs(src)
for f in ("hello.c",):
    shutil.copy(os.path.join(srcdir, "examples/kmp", f), src)
shutil.copy(os.path.join(srcdir, "tests/rpm/data/user.c"), src)
with open(os.path.join(src, "Kbuild"), "w") as f:
    f.write("obj-m := kmp.o user.o\nkmp-y += hello.o\n")

# Build the modules once, outside rpm, for the independent truth.
truth_dir = make_modules(kbuild, [os.path.join(src, f) for f in ("hello.c", "user.c")],
                         "obj-m := kmp.o user.o\nkmp-y += hello.o\n", os.path.join(top, "truth"))
exports = {}
for line in open(os.path.join(truth_dir, "Module.symvers")):
    f = line.split("\t")
    exports[f[1]] = f[0]
kmp_imports = dump_modversions(os.path.join(truth_dir, "kmp.ko"))
user_imports = dump_modversions(os.path.join(truth_dir, "user.ko"))
check("hello_world" in user_imports, "user.ko imports hello_world (truth)")


def expected_requires(imports, provided=()):
    return {"%s(%s) = %s" % ("kernel" if s in kernel_syms else "ksym", s, c)
            for s, c in imports.items() if s not in provided}


SPEC_HEAD = """Name:           %(name)s
Version:        1.0
Release:        1
Summary:        kabi-deps test kmod
License:        GPL-2.0-only
Source0:        hello.c
Source1:        user.c
Source2:        Kbuild
BuildRequires:  kabi-deps
%%global debug_package %%{nil}
%%global moddir /lib/modules/%%{kver}/extra/kmp
%(extra_tags)s
%%description
A plain spec: no kmodtool, no template, no dependency lines.
%(subpackage)s
%%prep
%%setup -q -c -T
cp %%{SOURCE0} %%{SOURCE1} %%{SOURCE2} .

%%build
make -C %%{kbuild} M=$PWD modules

%%install
%(install)s

%%files
%(files)s
%(subfiles)s
"""


rb = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=top, triggers=True)


def build(name, install, files, subpackage="", subfiles="", extra_tags="", defines=(), expect_ok=True):
    return rb.build(name, SPEC_HEAD % dict(name=name, install=install, files=files, subpackage=subpackage,
                                          subfiles=subfiles, extra_tags=extra_tags),
                    src, defines=defines, quiet_failure=not expect_ok)


def deps(name, what):
    return rb.deps(name, what, ("ksym(", "kernel(", "!"))


INSTALL_KMP = "install -D -m 644 kmp.ko %{buildroot}%{moddir}/kmp.ko"
INSTALL_BOTH = INSTALL_KMP + "\ninstall -D -m 644 user.ko %{buildroot}%{moddir}/user.ko"

# The ways of running it that the Lua glue offers; an exec'ing attr has one.
MODES = (("in-process", ()), ("command fallback", ("_kabideps_native 0",)))
if generator in ("singlefile", "multifile"):
    MODES = ((generator, ()),)

# 1. the example kmod, in-process and through the command
for mode, defines in MODES + (() if generator in ("singlefile", "multifile") else
                              (("unloadable library", ("_kabideps_library /nonexistent/kabideps-lua.so",)),)):
    r = build("kmp-kmod", INSTALL_KMP, "%{moddir}/kmp.ko", defines=defines)
    check(r.returncode == 0, mode + ": rpmbuild of the plain example spec succeeds", r.stderr[-2000:])
    if r.returncode == 0:
        check(deps("kmp-kmod", "provides") == {"ksym(hello_world) = " + exports["hello_world"]},
              mode + ": Provides ksym(hello_world) with kbuild's CRC", deps("kmp-kmod", "provides"))
        check(deps("kmp-kmod", "requires") == expected_requires(kmp_imports),
              mode + ": Requires = modprobe --dump-modversions, kernel() for the kernel's symbols",
              (deps("kmp-kmod", "requires"), expected_requires(kmp_imports)))
        plain = rb.deps("kmp-kmod", "requires") - deps("kmp-kmod", "requires")
        check("kabi-deps-triggers" in plain, mode + ": Requires kabi-deps-triggers (depmod by file trigger)", plain)
    # rpm 6 refuses posix.fork in rpmbuild's Lua, rpm >= 4.20 warns about it
    lua_errors = [l for l in r.stderr.splitlines() if "lua script failed" in l or "posix." in l]
    check(not lua_errors, mode + ": no Lua error or deprecation", lua_errors)
    if "unloadable" in mode:
        check("cannot load" in r.stderr, mode + ": says it falls back", r.stderr[-500:])
    elif mode == "in-process":
        # rpm's warnings (not the compiler's; rpm 4.20's about the container's
        # host name is not ours either)
        ours = [l for l in r.stderr.splitlines()
                if (l.startswith("warning:") and "hostname" not in l) or "cannot load" in l]
        check(not ours, mode + ": the library loads into rpm's Lua, no warning", ours)

# 1b. the command cannot be run: the build fails, naming the module, instead
# of a package without dependencies
if generator not in ("singlefile", "multifile"):
    r = build("kmp-kmod", INSTALL_KMP, "%{moddir}/kmp.ko", expect_ok=False,
              defines=("_kabideps_native 0", "_kabideps_cli /nonexistent/kabi-deps"))
    check(r.returncode != 0 and "kmp.ko" in r.stderr and "/nonexistent/kabi-deps" in r.stderr,
          "command fallback, command missing: the build fails, naming the module and the command",
          r.stderr[-1500:])

# 2. two modules in one package: no self-requires
# (per file: kept, and satisfied by the package itself, which rpm accepts)
own = {"ksym(hello_world) = " + exports["hello_world"]} if per_file else set()
for mode, defines in MODES:
    r = build("kmp-two", INSTALL_BOTH, "%{moddir}/kmp.ko\n%{moddir}/user.ko", defines=defines)
    check(r.returncode == 0, mode + ": package with two modules builds", r.stderr[-2000:])
    if r.returncode == 0:
        req = deps("kmp-two", "requires") - own
        check(own <= deps("kmp-two", "requires") and own <= deps("kmp-two", "provides"),
              mode + ": per file, the self-requires left are provided by the package itself")
        check(not any("(hello_world)" in d for d in req), mode + ": no Requires for hello_world, provided by the package", req)
        check(req == expected_requires(kmp_imports) | expected_requires(user_imports, provided=exports),
              mode + ": Requires of both modules otherwise", req)

# 3. a subpackage: it requires what the main package provides
r = build("kmp-split", INSTALL_BOTH, "%{moddir}/kmp.ko",
          subpackage="%package user\nSummary: user\n%description user\nuser.ko\n",
          subfiles="%files user\n%{moddir}/user.ko")
check(r.returncode == 0, "package with a subpackage builds", r.stderr[-2000:])
if r.returncode == 0:
    req = deps("kmp-split-user", "requires")
    check("ksym(hello_world) = " + exports["hello_world"] in req,
          "the subpackage requires ksym(hello_world) from the main package", req)
    check(deps("kmp-split", "requires") == expected_requires(kmp_imports), "main package unchanged")

# 4. compressed modules (xz, zst, gz), as distributions install them
install = "\n".join([
    "install -d %{buildroot}%{moddir}",
    "xz -c kmp.ko > %{buildroot}%{moddir}/kmp_xz.ko.xz",
    "zstd -q -c kmp.ko > %{buildroot}%{moddir}/kmp_zst.ko.zst",
    "gzip -n -c user.ko > %{buildroot}%{moddir}/user.ko.gz"])
r = build("kmp-packed", install, "%{moddir}/kmp_xz.ko.xz\n%{moddir}/kmp_zst.ko.zst\n%{moddir}/user.ko.gz")
check(r.returncode == 0, "package with .ko.xz, .ko.zst, .ko.gz builds", r.stderr[-2000:])
if r.returncode == 0:
    check(deps("kmp-packed", "provides") == {"ksym(hello_world) = " + exports["hello_world"]},
          "compressed: Provides", deps("kmp-packed", "provides"))
    check(deps("kmp-packed", "requires") - own == expected_requires(kmp_imports) | expected_requires(user_imports, provided=exports),
          "compressed: Requires", deps("kmp-packed", "requires"))

# 5. rpm's own filters keep working
r = build("kmp-filtered", INSTALL_KMP, "%{moddir}/kmp.ko",
          extra_tags="%global __requires_exclude ^kernel\\\\(module_layout\\\\)")
if r.returncode == 0:
    req = deps("kmp-filtered", "requires")
    check(not any("module_layout" in d for d in req) and len(req) == len(kmp_imports) - 1,
          "%__requires_exclude removes kernel(module_layout)", req)
else:
    check(False, "filtered package builds", r.stderr[-2000:])

# 6. the attribute switched off
r = build("kmp-off", INSTALL_KMP, "%{moddir}/kmp.ko", defines=("__kabideps_path ^$",))
check(r.returncode == 0 and not deps("kmp-off", "provides") and not deps("kmp-off", "requires"),
      "--define '__kabideps_path ^$' switches it off")

# 6b. the triggers requirement switched off, for kernels that run depmod themselves
for mode, defines in MODES:
    r = build("kmp-notrig", INSTALL_KMP, "%{moddir}/kmp.ko", defines=defines + ("_kabideps_triggers %{nil}",))
    req = rb.deps("kmp-notrig", "requires")
    check(r.returncode == 0 and req and not any("triggers" in d for d in req),
          mode + ": %_kabideps_triggers empty: no kabi-deps-triggers", req)

# 7. a damaged module: reported by name; with %_kabideps_strict the build fails
install = INSTALL_KMP + "\nhead -c 3000 kmp.ko > %{buildroot}%{moddir}/broken.ko"
files = "%{moddir}/kmp.ko\n%{moddir}/broken.ko"
for mode, defines in MODES:
    r = build("kmp-broken", install, files, defines=defines)
    check(r.returncode == 0 and "broken.ko" in r.stderr, mode + ": damaged module named, build goes on",
          r.stderr[-1000:])
    if r.returncode == 0:
        check(deps("kmp-broken", "provides") == {"ksym(hello_world) = " + exports["hello_world"]},
              mode + ": the good module keeps its dependencies")
    r = build("kmp-broken", install, files, defines=defines + ("_kabideps_strict 1",), expect_ok=False)
    if rpm_fails_on_bad_dependency():
        check(r.returncode != 0 and "broken.ko" in r.stderr and "kabi-deps-strict" in r.stderr,
              mode + ": %_kabideps_strict 1 fails the build", r.stderr[-1000:])
    else:
        check("broken.ko" in r.stderr and "error: " in r.stderr and "kabi-deps-strict" in r.stderr,
              mode + ": %_kabideps_strict 1: rpm " + ".".join(map(str, rpm_version())) +
              " logs the strict-mode line as an error (it cannot stop this rpm's build)", r.stderr[-1000:])

# 8. an explicit kernel reference that cannot be read: no made-up Requires
for mode, defines in MODES:
    bad_ref = ("_kabideps_symvers /nonexistent/Module.symvers",)
    r = build("kmp-badref", INSTALL_KMP, "%{moddir}/kmp.ko", defines=defines + bad_ref)
    check(r.returncode == 0 and "/nonexistent/Module.symvers" in r.stderr and
          not deps("kmp-badref", "requires"),
          mode + ": unreadable %_kabideps_symvers: named, and no ksym() stand-ins", r.stderr[-800:])
    r = build("kmp-badref", INSTALL_KMP, "%{moddir}/kmp.ko", defines=defines + bad_ref + ("_kabideps_strict 1",),
              expect_ok=False)
    if rpm_fails_on_bad_dependency():
        check(r.returncode != 0, mode + ": ... and with %_kabideps_strict 1 the build fails")
    else:
        check("error: " in r.stderr and "kabi-deps-strict" in r.stderr,
              mode + ": ... and with %_kabideps_strict 1 an error in the log (this rpm goes on)", r.stderr[-800:])

# 9. file names are data: spaces, quotes and shell syntax in a module's path
ODD = "a b $(touch kabi-deps-pwned) ;c'd `touch kabi-deps-pwned`.ko"
install = "\n".join([
    "install -D -m 644 kmp.ko %{buildroot}%{moddir}/plain.ko",
    # printf in single quotes: the name reaches mv literally (\047 is the quote)
    "mv %{buildroot}%{moddir}/plain.ko \"%{buildroot}%{moddir}/$(printf '" + ODD.replace("'", "\\047") + "')\""])
for mode, defines in MODES:
    # (rpm's own brp scripts pipe find into xargs, which chokes on quotes)
    r = build("kmp-odd", install, '"%{moddir}/' + ODD + '"', defines=defines,
              extra_tags="%global __os_install_post %{nil}")
    check(r.returncode == 0 and deps("kmp-odd", "provides") == {"ksym(hello_world) = " + exports["hello_world"]},
          mode + ": a module path with spaces, quotes and $(...) is read, not run", r.stderr[-800:])
    files = run("rpm", "-qlp", rb.rpm("kmp-odd")).stdout if rb.rpm("kmp-odd") else ""
    check(ODD in files, mode + ": (the package holds that very name)", files)
pwned = [d for d, _, fs in os.walk(top) if "kabi-deps-pwned" in fs] + \
    [d for d in (os.getcwd(), "/tmp", builddir) if os.path.exists(os.path.join(d, "kabi-deps-pwned"))]
check(not pwned, "no part of a path ever went through a shell", pwned)

# 10. a module whose __versions was stripped: only the release ties it to a
# kernel build, which it requires; named in a warning, fatal with strict
# (the debug info refers to __versions: it goes too)
install = "install -d %{buildroot}%{moddir}\nobjcopy --strip-debug --remove-section=__versions kmp.ko %{buildroot}%{moddir}/bare.ko"
for mode, defines in MODES:
    r = build("kmp-bare", install, "%{moddir}/bare.ko", defines=defines)
    req = rb.deps("kmp-bare", "requires")
    check(r.returncode == 0 and uname_r(kver) in req, mode + ": a module without __versions requires " +
          uname_r(kver), (req, r.stderr[-800:]))
    check("bare.ko: its vermagic says modversions, but it has no __versions" in r.stderr,
          mode + ": ... and the warning names it", r.stderr[-800:])
    r = build("kmp-bare", install, "%{moddir}/bare.ko", defines=defines + ("_kabideps_strict 1",), expect_ok=False)
    if rpm_fails_on_bad_dependency():
        check(r.returncode != 0 and "kabi-deps-strict" in r.stderr, mode + ": ... fatal with %_kabideps_strict 1",
              r.stderr[-800:])
    else:
        check("error: " in r.stderr and "kabi-deps-strict" in r.stderr,
              mode + ": ... with %_kabideps_strict 1 an error in the log (this rpm goes on)", r.stderr[-800:])

# 11. rpm's elfdeps, which has nothing to say about a module, is not started
# for one (under /lib or /usr/lib, executable as Fedora's kernel makes
# them), but still is for the other ELF files: a spy in its place says so
spy, spied = os.path.join(top, "elf-spy.sh"), os.path.join(top, "elf-spied")
with open(spy, "w") as f:
    f.write('#!/bin/sh\ncat >> "%s"\necho >> "%s"\n' % (spied, spied))
os.chmod(spy, 0o755)
r = build("kmp-elf", "install -D -m 755 kmp.ko %{buildroot}%{moddir}/kmp.ko"
          "\ninstall -D -m 755 kmp.ko %{buildroot}/usr/lib/modules/%{kver}/extra/usr-kmp.ko"
          "\ninstall -D -m 755 /bin/true %{buildroot}/usr/bin/kmp-true",
          "%{moddir}/kmp.ko\n/usr/lib/modules/%{kver}/extra/usr-kmp.ko\n/usr/bin/kmp-true",
          defines=("__elf_provides " + spy, "__elf_requires " + spy))
seen = open(spied).read() if os.path.exists(spied) else ""
check(r.returncode == 0 and "/usr/bin/kmp-true" in seen, "rpm's elf generator runs on a program",
      (r.stderr[-2000:], seen))
check(".ko" not in seen, "... but not on modules (%__elf_exclude_path)", seen)

shutil.rmtree(top)
check.finish()
