#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What kabi-deps adds to rpmbuild, per module (not part of the tests).

    bench/rpmbuild.py [--build DIR] [--rpm PREFIX] [--generator GEN]
                      [--modules N] [--runs N] [--defines MACRO=VALUE...]
                      [--cli PROGRAM | --floor]

Packages --modules (1,000) modules of a Debian kernel (tests/real/fetch-kernel.sh,
cached) under /lib/modules/R/extra with a plain spec, with kabi-deps and with it
switched off (--define '__kabideps_path ^$'), alternately, --runs times each
after one warm-up of each, and prints the medians of wall time and the least
CPU time (user + system of rpmbuild and its children) of each, and the
difference per module.

--rpm PREFIX runs PREFIX/bin/rpmbuild (an rpm built from source, e.g. the
test cache's rpm-4.14.3-*; LD_LIBRARY_PATH=PREFIX/lib) instead of this
machine's.  --generator: the way rpmbuild runs kabi-deps, one of the attr
variants of the build tree (singlefile: the CLI per file and kind, as
rpm < 4.16 does; lua: in-process; multifile: per package, rpm >= 4.20;
default: the configured one).  The CLI's Module.symvers index goes to a
fresh cache directory (XDG_CACHE_HOME), made by the warm-up run.
--cli PROGRAM: the attrs run PROGRAM where they run the build tree's CLI
(same arguments): a program that only exits gives the floor, what rpm's
own fork and exec of a generator costs a module.  --floor: that, with
bench/null-generator.c (reads its input, prints nothing) linked statically.
"""
import argparse, glob, os, platform, shutil, statistics, subprocess, sys, tempfile, time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the same package bench/run.py builds (one spec for both benchmarks)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import SPEC  # noqa: E402


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
                 platform.processor())
    return "%s, %d cores, Linux %s" % (model, os.cpu_count(), platform.release())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--rpm", help="prefix of another rpm (PREFIX/bin/rpmbuild)")
    ap.add_argument("--generator", default="", help="lua, multifile or singlefile (default: configured)")
    ap.add_argument("--modules", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--define", action="append", default=[], help="MACRO VALUE for both runs")
    ap.add_argument("--cli", help="run PROGRAM instead of the CLI (e.g. an empty program: the floor)")
    ap.add_argument("--floor", action="store_true", help="--cli bench/null-generator.c, static")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    suffix = "uninstalled" + ("-" + a.generator if a.generator else "")
    attrs = sorted(glob.glob(os.path.join(build, "fileattrs", "*.attr." + suffix)))
    if not attrs:
        sys.exit("bench: no %s attrs in %s/fileattrs (build first; not usable with this rpm?)" % (suffix, build))
    env = dict(os.environ)
    rpmbuild, rpm = "rpmbuild", "rpm"
    if a.rpm:
        prefix = os.path.abspath(a.rpm)
        rpmbuild, rpm = os.path.join(prefix, "bin", "rpmbuild"), os.path.join(prefix, "bin", "rpm")
        env["LD_LIBRARY_PATH"] = os.path.join(prefix, "lib") + (":" + env["LD_LIBRARY_PATH"]
                                                                if env.get("LD_LIBRARY_PATH") else "")
    version = subprocess.run([rpm, "--version"], env=env, check=True, capture_output=True, text=True).stdout.strip()

    cache = sh(os.path.join(SRC, "tests/lib/cache-dir.sh")).strip()
    moddir, symvers = sh(os.path.join(SRC, "tests/real/fetch-kernel.sh"), cache, "amd64").split()[:2]
    release = os.path.basename(moddir)
    kernel = os.path.join(moddir, "kernel")
    mods = sorted(os.path.relpath(os.path.join(r, f), kernel) for r, _, fs in os.walk(kernel) for f in fs
                  if f.endswith((".ko", ".ko.xz", ".ko.zst", ".ko.gz")))[:a.modules]

    tmp = tempfile.mkdtemp(prefix="kabi-bench-rpm-")
    try:
        if a.floor:
            a.cli = os.path.join(tmp, "null-generator")
            sh(os.environ.get("CC", "cc"), "-O2", "-static", "-o", a.cli,
               os.path.join(SRC, "bench", "null-generator.c"))
        bench(a, env, rpm, rpmbuild, version, attrs, suffix, mods, release, kernel, symvers, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench(a, env, rpm, rpmbuild, version, attrs, suffix, mods, release, kernel, symvers, tmp):
    env["XDG_CACHE_HOME"] = os.path.join(tmp, "xdg")
    listing = os.path.join(tmp, "modules")
    with open(listing, "w") as f:
        f.write("".join(m + "\n" for m in mods))
    spec = os.path.join(tmp, "bench.spec")
    with open(spec, "w") as f:
        f.write(SPEC % dict(n=len(mods), rel=release, kernel=kernel, list=listing))
    # rpm's own attrs and ours, as rpmbuild-uninstalled does, for any rpm
    attrdir = os.path.join(tmp, "fileattrs")
    os.mkdir(attrdir)
    own = subprocess.run([rpm, "--eval", "%{_fileattrsdir}"], env=env, check=True, capture_output=True,
                         text=True).stdout.strip()
    ours = []
    cli = os.path.join(os.path.abspath(a.build), "plugin", "kabi-deps")
    for p in attrs:
        dest = os.path.join(attrdir, os.path.basename(p)[:-len("." + suffix)])
        if a.cli:
            with open(p) as f, open(dest, "w") as out:
                out.write(f.read().replace(cli + " ", os.path.abspath(a.cli) + " "))
        else:
            os.symlink(p, dest)
        ours.append(dest)
    # (rpm 4.14 has no --load: its macro path, and ours after it)
    showrc = subprocess.run([rpm, "--showrc"], env=env, check=True, capture_output=True, text=True).stdout
    macro_path = next(l.split(":", 1)[1].strip() for l in showrc.splitlines() if l.startswith("Macro path:"))
    macro_path = ":".join([macro_path, os.path.join(SRC, "macros.d/macros.kabideps")] + ours)
    for p in glob.glob(os.path.join(own, "*.attr")):
        if not os.path.exists(os.path.join(attrdir, os.path.basename(p))):
            os.symlink(p, os.path.join(attrdir, os.path.basename(p)))

    def run(on):
        top = os.path.join(tmp, "rpm")
        shutil.rmtree(top, ignore_errors=True)
        cmd = [rpmbuild, "--macros", macro_path, "--define", "_fileattrsdir " + attrdir, "-bb", "--quiet", "--define", "_topdir " + top,
            "--define", "_kabideps_symvers " + symvers]
        for d in a.define + ([] if on else ["__kabideps_path ^$"]):
            cmd += ["--define", d]
        start = time.perf_counter()
        p = subprocess.Popen(cmd + [spec], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("bench: rpmbuild failed:\n" + err[-3000:])
        built = glob.glob(os.path.join(top, "RPMS", "*", "*.rpm"))
        ndeps = len(subprocess.run([rpm, "-qp", "--requires", "--provides"] + built, env=env,
                                   capture_output=True, text=True).stdout.splitlines())
        return wall, usage.ru_utime + usage.ru_stime, ndeps

    print("machine:  " + machine())
    print("rpm:      %s (%s), kabi-deps attrs: %s%s" % (version, rpmbuild, suffix,
                                                       ", running " + os.path.basename(a.cli) if a.cli else ""))
    print("package:  %d modules of %s under extra/; medians of %d alternated runs" % (len(mods), release, a.runs))
    run(True), run(False)  # warm-up: page cache, the CLI's index
    on, off = [], []
    for _ in range(a.runs):
        on.append(run(True))
        off.append(run(False))
    w_on, w_off = statistics.median(r[0] for r in on), statistics.median(r[0] for r in off)
    c_on, c_off = min(r[1] for r in on), min(r[1] for r in off)
    n = len(mods)
    print("  wall time  %8.2f s with kabi-deps, %8.2f s without: %+.2f ms a module"
          % (w_on, w_off, 1000 * (w_on - w_off) / n))
    print("  CPU time   %8.2f s with kabi-deps, %8.2f s without: %+.2f ms a module (least of each)"
          % (c_on, c_off, 1000 * (c_on - c_off) / n))
    print("  dependencies of the package: %d with, %d without" % (on[0][2], off[0][2]))


if __name__ == "__main__":
    main()
