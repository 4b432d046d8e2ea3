#!/usr/bin/env python3
"""The per-file way (rpm < 4.16 runs the CLI once per file and kind), in the
real rpmbuild through the singlefile attrs:
- no process at all for a kind whose option is off (supplements without
  %_kabideps_modalias supplements, recommends without %_kabideps_firmware
  recommends), one per module for each kind that is on, as a logging
  wrapper around the CLI sees them;
- the dependencies are those of the in-process way (where this rpm has it;
  else of the CLI reading the whole package), the package's own sibling
  requires aside;
- the CLI's Module.symvers index (in $XDG_CACHE_HOME) gives what a full
  parse gives, and is not used once the reference changes."""
import glob, os, re, shlex, shutil, sys, tempfile, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import Checks, RpmBuilder, kernel_headers, run  # noqa: E402

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
cli = os.path.join(builddir, "plugin/kabi-deps")
check = Checks()
kbuild, kver = kernel_headers()
top = tempfile.mkdtemp(prefix="kabi-percall-")

# The reference, a copy that the test changes later; its timestamps must be
# 2 s old before the CLI writes an index of it (so: copied first).
ref = os.path.join(top, "ref", "Module.symvers")
os.makedirs(os.path.dirname(ref))
shutil.copyfile(os.path.join(kbuild, "Module.symvers"), ref)
ref_time = time.time()

src = os.path.join(top, "SOURCES")
os.makedirs(src)
shutil.copy(os.path.join(srcdir, "examples/kmp/hello.c"), src)
for f in ("devtab.c", "user.c"):
    shutil.copy(os.path.join(srcdir, "tests/rpm/data", f), src)
with open(os.path.join(src, "Kbuild"), "w") as f:
    f.write("obj-m := kmp.o dev-tab.o user.o\nkmp-y += hello.o\ndev-tab-y += devtab.o\n")
MODULES = ("kmp.ko", "dev-tab.ko", "user.ko")

SPEC = """Name: %(name)s
Version: 1.0
Release: 1
Summary: kabi-deps per-file test
License: GPL-2.0-only
Source0: hello.c
Source1: devtab.c
Source2: user.c
Source3: Kbuild
%%global debug_package %%{nil}
%%global moddir /lib/modules/%%{kver}/extra/test
%%description
A plain spec.
%%prep
%%setup -q -c -T
cp %%{SOURCE0} %%{SOURCE1} %%{SOURCE2} %%{SOURCE3} .
%%build
make -C %%{kbuild} M=$PWD modules
%%install
""" + "".join("install -D -m 644 %s %%%%{buildroot}%%%%{moddir}/%s\n" % (m, m) for m in MODULES) + \
    "%%files\n" + "".join("%%%%{moddir}/%s\n" % m for m in MODULES)

# A build tree whose singlefile attrs run the CLI through a wrapper that
# logs the kind of each run.
singlefile = glob.glob(os.path.join(builddir, "fileattrs", "*.attr.uninstalled-singlefile"))
if not singlefile:
    print("SKIP: no singlefile attrs in the build tree")
    sys.exit(77)
logged = os.path.join(top, "build")
os.makedirs(os.path.join(logged, "fileattrs"))
log = os.path.join(top, "runs.log")
wrapper = os.path.join(top, "kabi-deps-logged")
with open(wrapper, "w") as f:
    f.write("#!/bin/sh\nprintf '%%s\\n' \"$1\" >>%s\nexec %s \"$@\"\n" % (shlex.quote(log), shlex.quote(cli)))
os.chmod(wrapper, 0o755)
for a in singlefile:
    text = open(a).read()
    check(cli in text, "the singlefile attr %s runs the build tree's CLI" % os.path.basename(a))
    with open(os.path.join(logged, "fileattrs", os.path.basename(a)), "w") as f:
        f.write(text.replace(cli, wrapper))
# (and the build tree's macros, which rpmbuild-uninstalled loads from it)
os.makedirs(os.path.join(logged, "macros.d"))
shutil.copy(os.path.join(builddir, "macros.d", "macros.kabideps"), os.path.join(logged, "macros.d"))

os.environ["KABI_DEPS_GENERATOR"] = "singlefile"
cache = os.path.join(top, "xdg")
NO_CACHE = "/dev/null/no-cache"  # cannot be made: every process parses the text
KINDS = ("provides", "requires", "supplements", "recommends")
for d in ("logged", "plain"):
    os.makedirs(os.path.join(top, d))
rb_logged = RpmBuilder(logged, srcdir, kbuild, kver, topdir=os.path.join(top, "logged"))
rb_plain = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=os.path.join(top, "plain"))


def build(rb, name, defines=(), xdg=cache, generator="singlefile"):
    os.environ["XDG_CACHE_HOME"] = xdg
    os.environ["KABI_DEPS_GENERATOR"] = generator
    if os.path.exists(log):
        os.unlink(log)
    r = rb.build(name, SPEC % dict(name=name), src, defines=("_kabideps_symvers " + ref,) + tuple(defines))
    check(r.returncode == 0, "%s: rpmbuild succeeds" % name, r.stderr[-2000:])
    return r


def runs():
    lines = open(log).read().split() if os.path.exists(log) else []
    return {k: lines.count(k) for k in KINDS}


def all_deps(rb, name):
    """Every kind, without the package's own name = EVR."""
    return {k: {d for d in rb.deps(name, k) if not d.startswith((name + " ", name + "("))} for k in KINDS}


SUSE = ("_kabideps_modalias supplements", "_kabideps_firmware recommends", "_kabideps_kmod suse")

# 1. processes: one per module for each kind that is on, none for the others
n = len(MODULES)
build(rb_logged, "pc-fedora")
check(runs() == {"provides": n, "requires": n, "supplements": 0, "recommends": 0},
      "Fedora/RHEL options: provides and requires once per module, no supplements/recommends process", runs())
build(rb_logged, "pc-suse", SUSE)
check(runs() == {k: n for k in KINDS}, "SUSE options: each of the four kinds once per module", runs())
build(rb_logged, "pc-alias", ("_kabideps_modalias supplements",))
check(runs() == {"provides": n, "requires": n, "supplements": n, "recommends": 0},
      "modalias supplements alone: no recommends process", runs())
check(any(d.startswith("modalias(") for d in rb_logged.deps("pc-suse", "supplements")) and
      any(d.startswith("firmware(") for d in rb_logged.deps("pc-suse", "recommends")),
      "(and those kinds are there when on)", all_deps(rb_logged, "pc-suse"))

# 2. the same dependencies as in-process (or the CLI over the whole
# package), the sibling requires aside: per file, user.ko cannot know that
# kmp.ko of the same package exports hello_world
cases = (("Fedora/RHEL options", "pc-fedora", ()), ("SUSE options", "pc-suse", SUSE))
# (in-process where that is how this build runs; not with a sanitized
# library, which cannot be loaded into rpmbuild)
lua_usable = os.environ.get("KABI_DEPS_CONFIGURED_GENERATOR") == "lua"
own = {d for d in rb_logged.deps("pc-fedora", "provides") if d.startswith("ksym(")}
for label, name, opts in cases:
    got = all_deps(rb_logged, name)
    if lua_usable:
        build(rb_plain, "pc-inproc", opts, generator="lua")
        want, how = all_deps(rb_plain, "pc-inproc"), "in-process"
    else:
        # the CLI over all modules of the package at once (no cache)
        want, how = {}, "the CLI over the whole package"
        root = os.path.join(top, "unpacked-" + name)
        os.makedirs(root)
        run("sh", "-c", 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet)', "sh", rb_logged.rpm(name), root,
            check=True)
        files = sorted(glob.glob(os.path.join(root, "lib/modules/*/extra/test/*.ko")))
        settings = dict(o.split(" ", 1) for o in opts)
        args = ["--option", "kmod=" + settings.get("_kabideps_kmod", "fedora"),
                "--option", "modalias=" + settings.get("_kabideps_modalias", "provides"),
                "--option", "firmware=" + settings.get("_kabideps_firmware", "none"),
                "--option", "triggers="]
        for k in KINDS:
            out = run(cli, k, *(args + (["--symvers", ref] if k == "requires" else []) + files),
                      env=dict(os.environ, XDG_CACHE_HOME=NO_CACHE)).stdout
            want[k] = set(out.splitlines())
        want["requires"] |= {d for d in got["requires"] if d.startswith("rpmlib(")}  # rpm's own
    for k in KINDS:
        extra = got[k] - want[k]
        ok = got[k] >= want[k] and (extra <= own if k == "requires" else not extra)
        check(ok, "%s, %s: the per-file %s are those of %s%s" % (
            label, k, k, how, " (plus the siblings' ksym())" if k == "requires" else ""),
            (sorted(want[k] - got[k]), sorted(extra)))
check(any("(hello_world)" in d for d in rb_logged.deps("pc-fedora", "requires")),
      "(per file, user.ko does require its sibling's hello_world)")

# 3. the index: made once the reference has settled, the same answers as a
# full parse, and not used after the reference changes
time.sleep(max(0, ref_time + 3 - time.time()))
shutil.rmtree(cache, ignore_errors=True)
r0 = build(rb_plain, "pc-parsed", SUSE, xdg=NO_CACHE)
parsed = all_deps(rb_plain, "pc-parsed")
r1 = build(rb_plain, "pc-index1", SUSE)
indexes = glob.glob(os.path.join(cache, "kabi-deps", "*.idx"))
check(len(indexes) == 1, "the first process wrote one index into $XDG_CACHE_HOME/kabi-deps", indexes)
r2 = build(rb_plain, "pc-index2", SUSE)
check(all_deps(rb_plain, "pc-index1") == parsed and all_deps(rb_plain, "pc-index2") == parsed,
      "built with the index: the dependencies of a full parse, every kind")


def warnings(r):
    """kabi-deps' messages, without the package's buildroot in them."""
    # (rpm < 4.20: .../BUILDROOT/NVRA/lib/modules/...; 4.20: .../NV-build/BUILDROOT/lib/modules/...)
    return sorted(re.sub(r"\S*/BUILDROOT/(?:[^/]+/)?(?=(?:usr/)?lib/modules/)", "BUILDROOT/", l)
                  for l in r.stderr.splitlines() if "kabi-deps" in l)


check(warnings(r1) == warnings(r0) and warnings(r2) == warnings(r0),
      "... and the same warnings (depends=, from the kernel's module names)", (warnings(r0), warnings(r2)))

# the reference changes (same size, in place): _printk renamed, so that
# kmp.ko's import is no longer the kernel's
text = open(ref, "rb").read()
check(b"\t_printk\t" in text, "(the reference exports _printk)")
with open(ref, "r+b") as f:
    f.write(text.replace(b"\t_printk\t", b"\t_printX\t"))
build(rb_plain, "pc-stale", SUSE)
req = rb_plain.deps("pc-stale", "requires")
check(any(d.startswith("ksym(_printk)") for d in req) and not any(d.startswith("kernel(_printk)") for d in req),
      "after the reference changed: ksym(_printk), as the new file says, not the index of the old one",
      sorted(d for d in req if "_printk" in d))
build(rb_plain, "pc-stale-parsed", SUSE, xdg=NO_CACHE)
check(all_deps(rb_plain, "pc-stale") == all_deps(rb_plain, "pc-stale-parsed"),
      "... and every dependency as a full parse of the changed file gives")

# a kernel without modversions as the reference (every CRC 0): through the
# index as through a parse, the modules' CRCs get one warning each, not a
# mismatch per import (the index keeps that the CRCs are all 0)
zero = os.path.join(top, "zero", "Module.symvers")
os.makedirs(os.path.dirname(zero))
with open(zero, "w") as f:
    f.write("".join("0x00000000\t" + l.split("\t", 1)[1] for l in open(ref) if "\t" in l))
time.sleep(3)
zero_runs = [build(rb_plain, "pc-zero%d" % i, ("_kabideps_symvers " + zero,), xdg=x)
             for i, x in enumerate((NO_CACHE, cache, cache))]
check(glob.glob(os.path.join(cache, "kabi-deps", "*.idx")) and
      all(warnings(r) == warnings(zero_runs[0]) for r in zero_runs) and
      any("has none" in w for w in warnings(zero_runs[0])) and not any("differ" in w for w in warnings(zero_runs[2])),
      "a reference whose CRCs are all 0: the same warnings from the index as from a parse",
      [warnings(r) for r in zero_runs])

shutil.rmtree(top)
check.finish()
