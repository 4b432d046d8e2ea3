#!/usr/bin/env python3
"""Dependencies beyond symbols, end to end through rpmbuild on plain specs:
kmod(), modalias() Provides (Fedora) and Supplements (SUSE), firmware(),
SUSE flavor naming, depends= warnings, in-tree modules of kernel packages.
Aliases are real: modpost makes them from the test driver's PCI/USB/OF/ACPI
tables.  The expected modalias lines come from Python transcriptions of
Fedora's modalias.prov and SUSE's find-supplements.ksyms (independent of the
C code); with a fetched distribution kernel (tests/real), the same oracles
run over its modules."""
import glob, os, re, shutil, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import Checks, RpmBuilder, kernel_headers, make_modules, run  # noqa: E402

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
kabi_deps = os.path.join(builddir, "plugin/kabi-deps")
check = Checks()


# ---- the oracles: Fedora modalias.prov and SUSE find-supplements.ksyms ----
def print_run(cls, variants, pos):
    return cls[:pos] + "[" + variants + "]" + cls[pos + 1:] if variants else cls


def combine_fedora(lines):
    out, cls, variants, pos = [], None, "", None
    for tag in lines:
        if cls is None:
            cls = tag
            continue
        n, end = (9, len(cls)) if pos is None else (pos, pos + 1)
        merged = False
        while n < end:
            if cls[:n] != tag[:n]:
                break
            if cls[n + 1:] != tag[n + 1:] or cls[n:n + 1] in "[]?*" or tag[n:n + 1] in "[]?*":
                n += 1
                continue
            variants, pos, merged = (variants or cls[n]) + tag[n], n, True
            break
        if not merged:
            out.append(print_run(cls, variants, pos))
            cls, variants, pos = tag, "", None
    if cls:
        out.append(print_run(cls, variants, pos))
    return out


def fedora_oracle(aliases, version):
    modver = re.sub(r"[^0-9a-zA-Z._]", "_", version) if version else ""
    lines = ["modalias(%s)%s" % (re.sub(r"[^][0-9a-zA-Z._:*?/-]", "_", a), " = " + modver if modver else "")
             for a in aliases if a]
    keyed = sorted({"%d %s" % (len(l), l) for l in lines})
    return set(combine_fedora([k.split(" ", 1)[1] for k in keyed]))


def combine_suse(lines):
    out, cls, variants, pos = [], None, "", None
    for tag in lines:
        if cls is None:
            cls = tag
            continue
        merged = False
        for n in range(len(cls)):
            if cls[n] != "*" and cls[:n] == tag[:n] and cls[n + 1:] == tag[n + 1:] and (pos is None or n == pos):
                variants, pos, merged = (variants or cls[n]) + tag[n:n + 1], n, True
                break
        if not merged:
            out.append(print_run(cls, variants, pos))
            cls, variants, pos = tag, "", None
    if cls:
        out.append(print_run(cls, variants, pos))
    return out


def suse_oracle(aliases, flavor):
    def hexenc(s):
        return "".join(c if re.match(r"[*:a-zA-Z0-9]", c) else "".join("%%%X" % b for b in c.encode()) for c in s)
    lines = sorted({"modalias(kernel-%s:%s)" % (flavor, e) for e in map(hexenc, aliases) if re.search(r".:.", e)})
    return set(combine_suse(lines))


def modinfo(ko, field):
    return run("modinfo", "-F", field, ko).stdout.splitlines()


kbuild, kver = kernel_headers()
flavor = kver.rsplit("-", 1)[1]
top = tempfile.mkdtemp(prefix="kabi-modinfo-")
src = os.path.join(top, "SOURCES")
os.makedirs(src)
shutil.copy(os.path.join(srcdir, "examples/kmp/hello.c"), src)
shutil.copy(os.path.join(srcdir, "tests/rpm/data/devtab.c"), src)
with open(os.path.join(src, "Kbuild"), "w") as f:
    f.write("obj-m := kmp.o dev-tab.o\nkmp-y += hello.o\ndev-tab-y += devtab.o\n")

truth = make_modules(kbuild, [os.path.join(src, f) for f in ("hello.c", "devtab.c")],
                     open(os.path.join(src, "Kbuild")).read(), os.path.join(top, "truth"))
dev = os.path.join(truth, "dev-tab.ko")
aliases, version = modinfo(dev, "alias"), modinfo(dev, "version")[0]
kinds = {a.split(":")[0].rstrip("*") for a in aliases if ":" in a}
check({"pci", "usb", "of", "acpi"} <= kinds, "the test driver has real PCI, USB, OF and ACPI aliases", kinds)
exports = {l.split("\t")[1]: l.split("\t")[0] for l in open(os.path.join(truth, "Module.symvers"))}

SPEC = """Name: %(name)s
Version: 1.0
Release: 1
Summary: kabi-deps test driver
License: GPL-2.0-only
Source0: hello.c
Source1: devtab.c
Source2: Kbuild
%%global debug_package %%{nil}
%%global moddir /lib/modules/%%{kver}/%(dir)s
%%description
A plain spec.
%(sub)s
%%prep
%%setup -q -c -T
cp %%{SOURCE0} %%{SOURCE1} %%{SOURCE2} .
%%build
make -C %%{kbuild} M=$PWD modules
%%install
install -D -m 644 kmp.ko %%{buildroot}%%{moddir}/kmp.ko
install -D -m 644 dev-tab.ko %%{buildroot}%%{moddir}/dev-tab.ko
%%files
%%{moddir}/kmp.ko
%(devfile)s
"""


rb = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=top)


def build(name, defines=(), dir="extra/test", split=False):
    sub = "%package dev\nSummary: d\n%description dev\nd\n%files dev\n%{moddir}/dev-tab.ko\n" if split else ""
    spec = SPEC % dict(name=name, dir=dir, sub="", devfile="" if split else "%{moddir}/dev-tab.ko") + sub
    return rb.build(name, spec, src, defines=defines)


def deps(name, what):
    return rb.deps(name, what)


# Fedora/RHEL style (the default where %suse_version is not defined)
r = build("drv")
check(r.returncode == 0, "Fedora style: rpmbuild succeeds")
prov = deps("drv", "provides")
check({"kmod(kmp.ko)", "kmod(dev-tab.ko)"} <= prov, "Provides kmod(NAME.ko) for each module", prov)
got = {p for p in prov if p.startswith("modalias(")}
want = fedora_oracle(aliases, version)
check(got == want, "Provides modalias(ALIAS) = VERSION exactly as modalias.prov merges them (%d lines for %d aliases)"
      % (len(want), len(aliases)), (sorted(got ^ want)))
check(any("[" in p for p in got), "near-identical aliases merged into a [...] class")
check(not any(p.startswith("firmware(") for p in deps("drv", "requires") | deps("drv", "recommends")),
      "no firmware() by default on Fedora/RHEL")
check("ksym(hello_world) = " + exports["hello_world"] in prov, "ksym() Provides unchanged")
# (run per file, as rpm < 4.16 does, kabi-deps cannot know the package's other modules)
if os.environ.get("KABI_DEPS_CONFIGURED_GENERATOR") != "singlefile":
    check("depends on module" not in r.stderr, "no depends warning when the package has the module")

for mode in ("requires", "recommends"):
    r = build("drv-fw-" + mode, defines=("_kabideps_firmware " + mode,))
    fw = {p for p in deps("drv-fw-" + mode, mode) if p.startswith("firmware(")}
    check(fw == {"firmware(vendor/devtab-fw-1.bin)", "firmware(vendor/devtab-fw-2.bin)"},
          "%%_kabideps_firmware %s: firmware(PATH) %s" % (mode, mode.capitalize()), fw)

r = build("drv-off", defines=("_kabideps_kmod none", "_kabideps_modalias none"))
prov = deps("drv-off", "provides")
check(r.returncode == 0 and not any(p.startswith(("kmod(", "modalias(")) for p in prov) and
      any(p.startswith("ksym(") for p in prov), "kmod and modalias switch off by macro", prov)

# SUSE style: what %suse_version selects
r = build("drv-suse", defines=("suse_version 1600",))
check(r.returncode == 0, "SUSE style: rpmbuild succeeds")
prov, supp, req = deps("drv-suse", "provides"), deps("drv-suse", "supplements"), deps("drv-suse", "requires")
check({"kmod(kmp.ko)", "kmod(dev_tab.ko)"} <= prov, "SUSE: kmod(NAME.ko) with - as _", prov)
got = {s for s in supp if s.startswith("modalias(")}
want = suse_oracle(aliases, flavor)
check(got == want, "SUSE: Supplements modalias(kernel-FLAVOR:ALIAS) exactly as find-supplements.ksyms (%d)" % len(want),
      sorted(got ^ want))
check(not any(p.startswith("modalias(") for p in prov), "SUSE: no modalias Provides")
check("ksym(%s:hello_world) = %x" % (flavor, int(exports["hello_world"], 16)) in prov,
      "SUSE: Provides ksym(FLAVOR:SYM) = CRC without 0x and leading zeros", prov)
check(req and all(q.startswith(("ksym(%s:" % flavor, "rpmlib(")) for q in req if not q.startswith("firmware(")),
      "SUSE: Requires ksym(FLAVOR:SYM) = CRC", req)
check({"firmware(vendor/devtab-fw-1.bin)", "firmware(vendor/devtab-fw-2.bin)"} <= deps("drv-suse", "recommends"),
      "SUSE: firmware() Recommends by default")
r = build("drv-named", defines=("suse_version 1600", "_kabideps_flavor rt"))
check("ksym(rt:hello_world) = %x" % int(exports["hello_world"], 16) in deps("drv-named", "provides") and
      any(s.startswith("modalias(kernel-rt:") for s in deps("drv-named", "supplements")),
      "a flavor named by macro is used for ksym() and Supplements")

# depends=: the driver needs kmp, which its subpackage lacks
r = build("drv-split", split=True)
check(r.returncode == 0 and "dev-tab.ko: depends on module kmp" in r.stderr,
      "warns when depends= names a module neither the package nor the kernel has", r.stderr[-800:])

# kernel packages: in-tree modules when the kernel's spec enables it
r = build("kern", dir="kernel/drivers/test")
check(not any(p.startswith(("kernel(", "ksym(")) for p in deps("kern", "provides")), "in-tree modules are left alone by default")
r = build("kern-on", dir="kernel/drivers/test", defines=("_kabideps_in_tree 1",))
prov = deps("kern-on", "provides")
check("kernel(hello_world) = " + exports["hello_world"] in prov and not any(p.startswith("modalias(") for p in prov),
      "%_kabideps_in_tree 1: kernel(SYM) Provides, no modalias for the kernel's own modules", prov)

# the oracles over a real distribution kernel, when tests/real fetched one.
# Its modules lie under kernel/, which modalias leaves alone by design, so
# each is compared through a copy outside it.
cache = os.environ.get("KABI_DEPS_KERNEL_CACHE", "/var/cache/kabi-deps-test")
# (fetch-kernel.sh unpacks into CACHE/KEY/root: the cache's other trees,
# debootstrap roots and built rpms, are not walked)
real = sorted(glob.glob(os.path.join(cache, "*/root/**/kernel/drivers/**/*.ko*"), recursive=True))
if real:
    bad, n = [], 0
    os.makedirs(os.path.join(top, "real"))
    for ko in real[::max(1, len(real) // 300)]:
        al = modinfo(ko, "alias")
        if not al:
            continue
        n += 1
        ver = (modinfo(ko, "version") or [""])[0]
        copy = os.path.join(top, "real", os.path.basename(ko))
        shutil.copy(ko, copy)
        got = {l for l in run(kabi_deps, "provides", "--option", "modalias=provides", copy).stdout.splitlines()
               if l.startswith("modalias(")}
        got_suse = set(run(kabi_deps, "supplements", "--option", "modalias=supplements",
                           "--option", "flavor=" + flavor, copy).stdout.splitlines())
        want, want_suse = fedora_oracle(al, ver), suse_oracle(al, flavor)
        if got != want or got_suse != want_suse:
            bad.append((ko, sorted(got ^ want)[:4], sorted(got_suse ^ want_suse)[:4]))
        os.remove(copy)
    check(n > 0 and not bad, "real kernel: modalias lines of %d modules agree with both oracles" % n, bad[:3])
else:
    print("note: no fetched kernel under %s: real-module oracle comparison skipped" % cache)

shutil.rmtree(top)
check.finish()
