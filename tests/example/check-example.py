#!/usr/bin/env python3
"""The seed's example kmod, built against the installed kernel headers, read
by kabi-deps and compared with independent truth: kbuild's Module.symvers for
its export, `modprobe --dump-modversions` for its imports, the kernel's
Module.symvers for the kernel()/ksym() split.  Also compressed copies (by
magic, under misleading names) and names full of shell syntax."""
import glob, gzip, json, lzma, os, shutil, subprocess, sys, tempfile

kabi_deps, source = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


builds = sorted(glob.glob("/lib/modules/*/build/Module.symvers"))
if not builds:
    print("SKIP: no kernel headers installed")
    sys.exit(77)
kbuild = os.path.dirname(builds[-1])
release = kbuild.split("/")[3]
kernel_symvers = {}
for line in open(os.path.join(kbuild, "Module.symvers")):
    f = line.rstrip("\n").split("\t")
    kernel_symvers[f[1]] = f[0]

work = tempfile.mkdtemp()
try:
    for f in ("hello.c", "Kbuild"):
        shutil.copy(os.path.join(source, f), work)
    r = run("make", "-C", kbuild, "M=" + work, "modules")
    if r.returncode:
        print(r.stdout, r.stderr)
        sys.exit(1)
    ko = os.path.join(work, "kmp.ko")

    # exports against kbuild's own Module.symvers
    truth = {}
    for line in open(os.path.join(work, "Module.symvers")):
        f = line.rstrip("\n").split("\t")
        truth[f[1]] = (f[0], f[3] == "EXPORT_SYMBOL_GPL", f[4] if len(f) > 4 and f[4] else None)
    r = run(kabi_deps, "dump", "--json", ko)
    check(r.returncode == 0, "dump --json exits 0: " + r.stderr.strip())
    mod = json.loads(r.stdout)[0]
    got = {e["name"]: (e["crc"], e["gpl"], e["namespace"]) for e in mod["exports"]}
    check(got == truth, "exports match kbuild's Module.symvers: %s vs %s" % (got, truth))
    check(mod["release"] == release, "release from vermagic is %s" % release)

    # imports against modprobe --dump-modversions
    r = run("modprobe", "--dump-modversions", ko)
    want = {l.split("\t")[1]: l.split("\t")[0] for l in r.stdout.splitlines()}
    got = {i["name"]: i["crc"] for i in mod["imports"]}
    check(want and got == want, "imports match modprobe --dump-modversions (%d)" % len(want))
    check("module_layout" in got or "module_layout" not in kernel_symvers, "module_layout is an import")

    # dependencies
    r = run(kabi_deps, "provides", ko)
    want = sorted("ksym(%s) = %s" % (s, c[0]) for s, c in truth.items())
    check(r.stdout.splitlines() == want, "provides: %s" % r.stdout.splitlines())
    r = run(kabi_deps, "requires", ko)
    want = sorted("%s(%s) = %s" % ("kernel" if s in kernel_symvers else "ksym", s, c)
                  for s, c in got.items())
    check(r.returncode == 0 and r.stdout.splitlines() == want, "requires: %s" % r.stdout.splitlines())
    check("kernel(_printk)" in r.stdout or "kernel(printk)" in r.stdout, "printk is required from the kernel")

    # compressed copies, detected by magic under misleading names with shell syntax
    data = open(ko, "rb").read()
    weird = os.path.join(work, "we ird $(touch pwned) 'q\" `x`;")
    os.mkdir(weird)
    variants = {"a.ko": data, "b.ko.gz": gzip.compress(data), "c.ko.xz": lzma.compress(data),
                "d.ko": lzma.compress(data), "e.ko.zst": None}
    for name, blob in variants.items():
        path = os.path.join(weird, name)
        if blob is None:
            subprocess.run(["zstd", "-q", "-o", path, ko], check=True)
        else:
            open(path, "wb").write(blob)
    paths = [os.path.join(weird, n) for n in variants]
    r = run(kabi_deps, "dump", "--json", *paths)
    mods = json.loads(r.stdout) if r.returncode == 0 else []
    check(len(mods) == len(paths) and all(m["exports"] == mod["exports"] and m["imports"] == mod["imports"]
                                          for m in mods), "compressed and renamed copies read alike")
    check(not os.path.exists(os.path.join(os.getcwd(), "pwned")) and not os.path.exists("pwned"),
          "no path went through a shell")
    r = run(kabi_deps, "provides", "--multifile", input="\n".join(paths) + "\n")
    check(r.stdout.splitlines()[0] == ";" + paths[0], "multifile marks files with ;PATH exactly as given")
finally:
    shutil.rmtree(work)

sys.exit(1 if failures else 0)
