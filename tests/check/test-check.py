#!/usr/bin/env python3
"""kabi-deps check and the build-time kABI warnings, on real data: the
example kmod built with its plain spec, checked against the kernel it was
built for (fits) and against that Module.symvers with one CRC changed and
one symbol removed (does not fit, both named); kernel RPMs built here as
references; --json parsed back.  Then rpmbuild's CRC-mismatch and
stablelist warnings, and %_kabideps_strict turning them into failures."""
import gzip, json, os, re, shutil, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import (UNSIGNED_OK, Checks, RpmBuilder, kernel_headers, read_symvers,  # noqa: E402
                     rpm_fails_on_bad_dependency, run)

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
kabi_deps = os.path.join(builddir, "plugin/kabi-deps")
check = Checks()
kbuild, kver = kernel_headers()
symvers = os.path.join(kbuild, "Module.symvers")
rows = read_symvers(symvers)
top = tempfile.mkdtemp(prefix="kabi-check-")
rb = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=top)

# the example kmod, as a packager builds it
kmp_spec = open(os.path.join(srcdir, "examples/kmp/kmp-kmod.spec")).read()
r = rb.build("kmp-kmod", kmp_spec, os.path.join(srcdir, "examples/kmp"))
kmod = rb.rpm("kmp-kmod")
check(kmod is not None, "the example kmod builds")
needs = {d.split(" = ")[0][len("kernel("):-1]: d.split(" = ")[1]
         for d in rb.deps("kmp-kmod", "requires", ("kernel(",))}
printk = "_printk" if "_printk" in needs else "printk"

# a changed kernel: printk's CRC changed, module_layout gone
changed = os.path.join(top, "changed", "Module.symvers")
os.makedirs(os.path.dirname(changed))
with open(changed, "w") as f:
    for row in rows:
        if row[1] == "module_layout":
            continue
        if row[1] == printk:
            row = ["0x%08x" % (int(row[0], 16) ^ 0x10)] + row[1:]
        f.write("\t".join(row) + "\n")

r = run(kabi_deps, "check", kmod, "--kernel", symvers)
check(r.returncode == 0 and "fits" in r.stdout and "DOES NOT" not in r.stdout,
      "the kmod fits the kernel it was built for (exit 0)", r.stdout + r.stderr)
r = run(kabi_deps, "check", kmod, "--kernel", changed)
check(r.returncode == 1 and "DOES NOT FIT" in r.stdout, "it does not fit the changed kernel (exit 1)", r.stdout)
check(printk in r.stdout and needs[printk] in r.stdout and "0x%08x" % (int(needs[printk], 16) ^ 0x10) in r.stdout,
      "the changed symbol is named with the CRC needed and the kernel's", r.stdout)
check("module_layout" in r.stdout and "absent" in r.stdout, "the removed symbol is named as absent", r.stdout)
lines = [l for l in r.stdout.splitlines() if l.startswith("    ")]
check(len(lines) == 2 and len({re.search(r"\S  +(\S)", l).start(1) for l in lines}) == 1,
      "human output: one aligned line per unmet dependency", lines)

r = run(kabi_deps, "check", "--json", kmod, "--kernel", symvers, changed)
try:
    doc = json.loads(r.stdout)
except ValueError:
    doc = None
check(doc is not None and r.returncode == 1, "--json parses back", r.stdout[:500])
if doc:
    res = {os.path.dirname(x["kernel"]) == os.path.dirname(changed): x for x in doc["results"]}
    unmet = {u["name"]: u for u in res[True]["unmet"]}
    check(res[False]["fits"] and not res[True]["fits"] and doc["fits"] is False, "--json: fits per kernel and overall")
    check(unmet.keys() == {printk, "module_layout"} and unmet["module_layout"]["kernel"] is None and
          unmet[printk]["needed"] == needs[printk] and unmet[printk]["kind"] == "symbol",
          "--json: the unmet dependencies with needed and kernel CRCs", unmet)

# kernel RPMs as references, built here with a plain spec
KERNEL_SPEC = """Name: %(name)s
Version: 1
Release: 1
Summary: a kernel's reference data
License: GPL-2.0-only
Source0: symvers-%%{kver}.gz
%%description
Provides what a kernel package provides: kernel(SYM) = CRC from its symvers.
%%install
install -D -m 644 %%{SOURCE0} %%{buildroot}/lib/modules/%%{kver}/symvers.gz
%%files
/lib/modules/%%{kver}/symvers.gz
"""
for name, source in (("kernel-good", symvers), ("kernel-changed", changed)):
    d = os.path.join(top, name)
    os.makedirs(d)
    with open(source, "rb") as f, gzip.GzipFile(os.path.join(d, "symvers-%s.gz" % kver), "wb", mtime=0) as g:
        g.write(f.read())
    rb.build(name, KERNEL_SPEC % {"name": name}, d)
good, bad = rb.rpm("kernel-good"), rb.rpm("kernel-changed")
check(good and bad, "two kernel RPMs built as references")
r = run(kabi_deps, "check", kmod, "--kernel", good, bad)
check(r.returncode == 1 and r.stdout.count("DOES NOT FIT") == 1 and "kernel-good" in r.stdout,
      "kernel RPMs as references: fits the good one, not the changed one", r.stdout)
# rpm agrees: the same verdicts from rpm -i --test in a scratch root
for ref, want in ((good, True), (bad, False)):
    root = tempfile.mkdtemp(dir=top)
    run("rpm", "--root", root, "--initdb")
    rr = run("rpm", "--root", root, "-i", "--test", "--ignorearch", *UNSIGNED_OK, ref, kmod)
    check((rr.returncode == 0) == want, "rpm -i --test agrees with check for %s" % os.path.basename(ref), rr.stderr[-300:])

# the other kinds of reference, many kernels in one call, .ko input
r = run(kabi_deps, "check", kmod, "--kernel", kbuild, kver, symvers, changed, good)
check(r.returncode == 1 and r.stdout.count("fits (") == 4 and r.stdout.count("DOES NOT FIT") == 1,
      "headers directory, installed release, files and RPMs in one call", r.stdout)
ko = os.path.join(top, "kmp.ko")
ex = os.path.join(top, "ex")
os.makedirs(ex)
cpio = run("sh", "-c", 'rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet)', "sh", kmod, ex)
kos = [os.path.join(dp, f) for dp, _, fs in os.walk(ex) for f in fs if f.endswith(".ko")]
if kos:
    shutil.copy(kos[0], ko)
    r = run(kabi_deps, "check", ko, "--kernel", symvers, changed)
    check(r.returncode == 1 and r.stdout.count("fits (") == 1 and "module_layout" in r.stdout,
          ".ko files as the kmod", r.stdout)
r = run(kabi_deps, "check", kmod, "--kernel", os.path.join(top, "nonexistent.symvers"))
check(r.returncode == 2 and "nonexistent" in r.stderr, "a missing reference is bad input (exit 2)", r.stderr)
r = run(kabi_deps, "check", os.path.join(top, "kmp-kmod.spec"), "--kernel", symvers)
check(r.returncode == 2, "a kmod that is neither RPM nor module is bad input (exit 2)", r.stderr)

# build time: CRC mismatch against the kernel reference, stablelist, strict
r = rb.build("kmp-kmod", kmp_spec, os.path.join(srcdir, "examples/kmp"), defines=("_kabideps_symvers " + changed,))
# (rpm repeats warnings in its closing summary: count distinct ones)
warn = sorted({re.sub(r"^warning: ", "", l.strip()) for l in r.stderr.splitlines() if "differ" in l})
check(r.returncode == 0 and len(warn) == 1 and printk in warn[0] and "kmp.ko" in warn[0],
      "rpmbuild warns once, naming the module and the symbol whose CRC differs", r.stderr[-800:])
stablelist = os.path.join(top, "kabi_stablelist_x86_64")
with open(stablelist, "w") as f:
    f.write("[rhel_kernel_x86_64_stablelist]\n\t%s\n\tmodule_layout\n" % printk)
r = rb.build("kmp-kmod", kmp_spec, os.path.join(srcdir, "examples/kmp"), defines=("_kabideps_stablelist " + stablelist,))
warn = sorted({re.sub(r"^warning: ", "", l.strip()) for l in r.stderr.splitlines() if "stablelist" in l})
outside = [s for s in needs if s not in (printk, "module_layout")]
check(r.returncode == 0 and len(warn) == 1 and all(s in warn[0] for s in outside) and printk not in warn[0],
      "rpmbuild lists the imports outside the stablelist in one warning", r.stderr[-800:])
check("x86_64" in warn[0] if warn else False, "the stablelist's architecture is the module's (x86_64)")
for label, define in (("CRC mismatch", "_kabideps_symvers " + changed),
                      ("stablelist", "_kabideps_stablelist " + stablelist)):
    r = rb.build("kmp-kmod", kmp_spec, os.path.join(srcdir, "examples/kmp"),
                 defines=(define, "_kabideps_strict 1"), quiet_failure=True)
    if rpm_fails_on_bad_dependency():
        check(r.returncode != 0 and "kabi-deps-strict" in r.stderr, "%_kabideps_strict 1 fails the build on the " + label)
    else:
        check("error: " in r.stderr and "kabi-deps-strict" in r.stderr,
              "%_kabideps_strict 1: an error in the log on the " + label + " (this rpm cannot stop its build)")

shutil.rmtree(top)
check.finish()
