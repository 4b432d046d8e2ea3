#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark kabi-deps weak-modules against RHEL's weak-modules (not part of
the tests).

    bench/weak-modules.py [--build DIR] [--kernels N] [--kmods N] [--runs N]
                          [--peers DIR] [--rhel-runs N]

A scratch root of --kernels kernels of the same ABI, each made from Debian's
kernel of the installed headers (fetched with tests/real/fetch-kernel.sh,
cached): its Module.symvers as symvers.gz, three of its real in-tree
modules, modules.order.  --kmods modules built against the installed headers
(copies of examples/kmp under as many names) lie in the first kernel's
extra/.  Both commands get `--add-modules` with all of them on a fresh copy
of the root, so that each makes (kernels - 1) x kmods links and runs depmod;
printed are medians of the wall-clock time, ours also with --dry-run
(deciding alone, no links, no depmod).
"""
import argparse, gzip, os, shutil, statistics, subprocess, sys, tempfile, time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
from kabitest import kernel_headers, make_modules  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"), help="meson build dir (default: build)")
    ap.add_argument("--kernels", type=int, default=10)
    ap.add_argument("--kmods", type=int, default=50)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rhel-runs", type=int, default=1, help="runs of RHEL's script (slow)")
    ap.add_argument("--peers", default=os.environ.get("KABI_DEPS_PEERS") or os.path.join(SRC, "..", "shared", "peers"))
    a = ap.parse_args()
    kabi_deps = os.path.join(a.build, "plugin", "kabi-deps")
    rhel = os.path.join(a.peers, "redhat-kmod", "weak-modules")
    kbuild, kver = kernel_headers()
    cache = subprocess.run([os.path.join(SRC, "tests/lib/cache-dir.sh")], capture_output=True, text=True).stdout.strip()
    fetched = subprocess.run([os.path.join(SRC, "tests/real/fetch-kernel.sh"), cache, "amd64"],
                             capture_output=True, text=True, check=True).stdout.split()
    moddir, symvers = fetched[:2]
    if os.path.basename(moddir) != kver:
        sys.exit("bench: the fetched kernel %s is not the installed headers' %s" % (moddir, kver))

    top = tempfile.mkdtemp(prefix="kabi-wm-bench-")
    mods = make_modules(kbuild, [os.path.join(SRC, "examples/kmp/hello.c")], "obj-m := kmp.o\nkmp-y += hello.o\n",
                        os.path.join(top, "mods"))
    template = os.path.join(top, "template")
    intree = [l for l in open(os.path.join(moddir, "modules.order")).read().split() if l][:3]
    with open(symvers, "rb") as f:
        symvers_gz = gzip.compress(f.read(), 1)
    releases = [kver] + ["6.1.0-%d-bench" % (100 + i) for i in range(a.kernels - 1)]
    os.makedirs(os.path.join(template, "usr/lib/modules"))
    os.symlink("usr/lib", os.path.join(template, "lib"))
    for rel in releases:
        d = os.path.join(template, "usr/lib/modules", rel)
        for m in intree:
            os.makedirs(os.path.dirname(os.path.join(d, m)), exist_ok=True)
            shutil.copy(os.path.join(moddir, m), os.path.join(d, m))
        with open(os.path.join(d, "modules.order"), "w") as f:
            f.write("\n".join(intree) + "\n")
        for n in ("modules.builtin", "modules.builtin.modinfo"):
            shutil.copy(os.path.join(moddir, n), d)
        with open(os.path.join(d, "symvers.gz"), "wb") as f:
            f.write(symvers_gz)
        open(os.path.join(d, "System.map"), "w").close()
    kmods = []
    for i in range(a.kmods):
        # named through /lib -> usr/lib, as packages name them
        p = os.path.join(template, "lib/modules", kver, "extra", "kmp%02d" % i, "kmp%02d.ko" % i)
        os.makedirs(os.path.dirname(p))
        shutil.copy(os.path.join(mods, "kmp.ko"), p)
        kmods.append(p)

    def one(cmd, paths, root):
        if os.path.exists(root):
            shutil.rmtree(root)
        shutil.copytree(template, root, symlinks=True)
        stdin = "".join(p.replace(template, root) + "\n" for p in paths)
        with open(os.path.join(top, "stdin"), "w") as f:
            f.write(stdin)
        with open(os.path.join(top, "stdin")) as fin, open(os.path.join(top, "out"), "w") as fout:
            start = time.perf_counter()
            p = subprocess.Popen(cmd(root), stdin=fin, stdout=fout, stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(p.pid, 0)
            took = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status):
            sys.exit("bench: %s failed:\n%s" % (cmd(root), open(os.path.join(top, "out")).read()[-2000:]))
        n = sum(len(fs) for d, _, fs in os.walk(os.path.join(root, "usr/lib/modules")) if "/weak-updates" in d)
        # CPU time of it and every child it waited for (depmod, modinfo, ...)
        return took, usage.ru_utime + usage.ru_stime, n

    def median(cmd, runs):
        res = [one(cmd, kmods, os.path.join(top, "root")) for _ in range(runs)]
        return statistics.median(r[0] for r in res), statistics.median(r[1] for r in res), res[-1][2]

    ours = lambda root: [kabi_deps, "weak-modules", "--root", root, "--add-modules"]
    dry = lambda root: [kabi_deps, "weak-modules", "--root", root, "--dry-run", "--add-modules"]
    theirs = lambda root: ["bash", rhel, "--basedir", root, "--no-initramfs", "--dracut", "/bin/true", "--add-modules"]
    print("%d kernels, %d kmods in %s/extra; medians of %d runs (%d for RHEL's), wall clock and CPU "
          "(user + system, children included):" % (a.kernels, a.kmods, kver, a.runs, a.rhel_runs))
    t, c, n = median(dry, a.runs)
    print("  kabi-deps weak-modules --dry-run   %7.3f s  %7.3f s CPU   (deciding only)" % (t, c))
    t_ours, c_ours, n = median(ours, a.runs)
    print("  kabi-deps weak-modules             %7.3f s  %7.3f s CPU   %d links, %d depmod runs"
          % (t_ours, c_ours, n, a.kernels - 1))
    if os.path.exists(rhel) and a.rhel_runs:
        t, c, n = median(theirs, a.rhel_runs)
        print("  RHEL's weak-modules                %7.3f s  %7.3f s CPU   %d links (%.0fx the CPU)"
              % (t, c, n, c / c_ours))
    else:
        print("  RHEL's weak-modules: not run (%s; --peers, --rhel-runs)" % rhel)
    shutil.rmtree(top) if not os.environ.get("KEEP") else print(top)


if __name__ == "__main__":
    main()
