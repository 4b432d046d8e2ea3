#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Benchmark kabi-deps on a whole distribution kernel (not part of the tests).

    bench/run.py [--build DIR] [--arch ARCH] [--suite SUITE] [--runs N]
                 [--classic-sample N] [--rpm-modules N] [--no-rpm] [--no-callgrind]
                 [--baseline DIR]

Fetches a Debian linux-image + linux-headers pair with tests/real/fetch-kernel.sh
(cached), then prints, side by side, medians of --runs runs of wall time and the least
CPU time (user + system, children included) of those runs, which the load
of a shared machine changes less (the load average is printed with them):
  kabi-deps   provides --multifile + requires --multifile --symvers over the tree
  cat         every byte of the tree (xargs cat > /dev/null)
  read(2)     every byte through one reused buffer (bench/read-all.c): the
              floor, where cat costs more per file than reading it
  classic     readelf -sW, readelf -x __kcrctab* and modprobe --dump-modversions
              per module, as the shell generators do (a sample, scaled up)
  peak RSS    of each kabi-deps run
  rpmbuild    a plain spec packaging --rpm-modules of the tree's modules under
              /lib/modules/R/extra, with kabi-deps in-process and with
              --define '__kabideps_path ^$' (switched off): the overhead
  callgrind   instructions of the kabi-deps runs (repeatable where time is not)
  baseline    with --baseline DIR (another build, e.g. of the commit before):
              its provides and requires run alternated with this build's,
              --runs times each, and both printed, least CPU time first
"""
import argparse, os, platform, resource, shutil, statistics, subprocess, sys, tempfile, time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout


def timed(cmd, stdin_path=None, cwd=None):
    """(wall seconds, peak RSS in KiB, CPU seconds) of one run; output discarded.
    The CPU time is the process's and its children's (xargs runs cat)."""
    with open(stdin_path or os.devnull, "rb") as fin:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        _, status, usage = os.wait4(p.pid, 0)
        took = time.perf_counter() - start
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit("bench: %s failed:\n%s" % (cmd[0], err[-2000:]))
    return took, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def median_of(runs, fn):
    """(median wall time, largest peak RSS, least CPU time) of runs runs."""
    fn()  # warm: page cache, dynamic loader
    results = [fn() for _ in range(runs)]
    return (statistics.median(r[0] for r in results), max(r[1] for r in results),
            min(r[2] for r in results))


def load():
    return float(open("/proc/loadavg").read().split()[0])


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
                 platform.processor())
    return "%s, %d cores, Linux %s" % (model, os.cpu_count(), platform.release())


def classic_script(tmp):
    """The classic generators' way, per module: one process per question."""
    path = os.path.join(tmp, "classic.sh")
    with open(path, "w") as f:
        f.write("""#!/bin/sh
# per module: exports (symbol table, CRC section data), imports (modversions)
while IFS= read -r m; do
	case $m in *.xz) d=$(mktemp); xz -dc "$m" >"$d"; m=$d ;; esac
	readelf -sW "$m" | grep -E '__(crc|ksymtab)_' >/dev/null
	readelf -x __kcrctab "$m" >/dev/null 2>&1
	readelf -x __kcrctab_gpl "$m" >/dev/null 2>&1
	modprobe --dump-modversions "$m" >/dev/null 2>&1
	case $m in /tmp/*) rm -f "$m" ;; esac
done
""")
    os.chmod(path, 0o755)
    return path


SPEC = """Name: bench-kmods
Version: 1
Release: 1
Summary: %(n)d modules of a distribution kernel
License: GPL-2.0-only
%%global debug_package %%{nil}
# rpm's brp scripts are the same with and without kabi-deps, and noise:
# rpm >= 4.19 strips every module, about 40%% of such a build
%%global __os_install_post %%{nil}
%%description
Benchmark package.
%%install
mkdir -p %%{buildroot}/lib/modules/%(rel)s/extra
tar -C %(kernel)s -cf - -T %(list)s | tar -C %%{buildroot}/lib/modules/%(rel)s/extra -xf -
%%files
/lib/modules/%(rel)s/extra
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--arch", default="amd64")
    ap.add_argument("--suite", default="")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--classic-sample", type=int, default=200)
    ap.add_argument("--rpm-modules", type=int, default=1000)
    ap.add_argument("--no-rpm", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--baseline", help="another build directory to compare with, runs alternated")
    a = ap.parse_args()

    kabi = os.path.join(os.path.abspath(a.build), "plugin", "kabi-deps")
    if not os.access(kabi, os.X_OK):
        sys.exit("bench: no %s: build first (meson setup build && ninja -C build)" % kabi)
    cache = sh(os.path.join(SRC, "tests/lib/cache-dir.sh")).strip()
    moddir, symvers = sh(os.path.join(SRC, "tests/real/fetch-kernel.sh"), cache, a.arch,
                         *([a.suite] if a.suite else [])).split()[:2]
    release = os.path.basename(moddir)
    mods = sorted(os.path.join(r, f) for r, _, fs in os.walk(moddir) for f in fs
                  if f.endswith((".ko", ".ko.xz", ".ko.zst", ".ko.gz")))
    tmp = tempfile.mkdtemp(prefix="kabi-bench-")
    listing = os.path.join(tmp, "modules")
    with open(listing, "w") as f:
        f.write("".join(m + "\n" for m in mods))
    size = sum(os.path.getsize(m) for m in mods)

    print("machine: " + machine())
    print("kernel:  %s (%s%s): %d modules, %.0f MB" % (release, a.arch, " " + a.suite if a.suite else "",
                                                     len(mods), size / 1e6))
    print("medians of %d runs (wall) and the least CPU time of them, warm page cache\n" % a.runs)
    load_before = load()

    prov = [kabi, "provides", "--multifile"]
    req = [kabi, "requires", "--multifile", "--symvers", symvers]
    t_prov, rss_prov, c_prov = median_of(a.runs, lambda: timed(prov, listing))
    t_req, rss_req, c_req = median_of(a.runs, lambda: timed(req, listing))
    ours, c_ours = t_prov + t_req, c_prov + c_req
    t_cat, _, c_cat = median_of(a.runs, lambda: timed(["xargs", "-d", "\\n", "cat"], listing))
    read_all = os.path.join(tmp, "read-all")
    sh(os.environ.get("CC", "cc"), "-O2", "-o", read_all, os.path.join(SRC, "bench", "read-all.c"))
    t_read, _, c_read = median_of(a.runs, lambda: timed([read_all], listing))
    rows = [("kabi-deps provides --multifile", t_prov, c_prov, "%d MB" % (rss_prov // 1024)),
            ("kabi-deps requires --multifile --symvers", t_req, c_req, "%d MB" % (rss_req // 1024)),
            ("kabi-deps, both", ours, c_ours, ""),
            ("cat of every byte", t_cat, c_cat, ""),
            ("read(2) of every byte, one 1 MiB buffer", t_read, c_read, "")]

    sample = mods[::max(1, len(mods) // a.classic_sample)][:a.classic_sample]
    sample_list = os.path.join(tmp, "sample")
    with open(sample_list, "w") as f:
        f.write("".join(m + "\n" for m in sample))
    t_classic, _, c_classic = median_of(max(1, a.runs // 2), lambda: timed([classic_script(tmp)], sample_list))
    t_classic *= len(mods) / len(sample)
    c_classic *= len(mods) / len(sample)
    rows.append(("classic (readelf/modprobe per module, %d scaled)" % len(sample), t_classic, c_classic, ""))

    print("  %-52s %10s %10s" % ("", "wall", "CPU"))
    for name, secs, cpu, extra in rows:
        print("  %-52s %8.3f s %8.3f s  %s" % (name, secs, cpu, extra))
    print("  (load average %.1f before, %.1f after)" % (load_before, load()))
    print("\n  kabi-deps vs cat:     %.2fx the time of reading the bytes (CPU %.2fx)" % (ours / t_cat, c_ours / c_cat))
    print("  kabi-deps vs read(2): %.2fx (CPU %.2fx)" % (ours / t_read, c_ours / c_read))
    print("  classic vs kabi-deps: %.0fx faster" % (t_classic / ours))

    if a.baseline:
        base = os.path.join(os.path.abspath(a.baseline), "plugin", "kabi-deps")
        if not os.access(base, os.X_OK):
            sys.exit("bench: no %s" % base)
        runs = {}
        # alternated, so that a changing load falls on both alike
        for _ in range(a.runs):
            for name, k in (("baseline", base), ("this build", kabi)):
                for kind, cmd in (("provides", [k] + prov[1:]), ("requires", [k] + req[1:])):
                    runs.setdefault((name, kind), []).append(timed(cmd, listing))
        for name in ("baseline", "this build"):
            cpu = [min(r[2] for r in runs[(name, kind)]) for kind in ("provides", "requires")]
            print("  %-12s provides %.3f s, requires %.3f s, both %.3f s CPU (%.2fx cat)"
                  % (name, cpu[0], cpu[1], sum(cpu), sum(cpu) / c_cat))
        print("  (least CPU time of %d alternated runs; load average %.1f after)" % (a.runs, load()))

    if not a.no_callgrind and shutil.which("valgrind"):
        irs = []
        for cmd in (prov, req):
            out = os.path.join(tmp, "callgrind.out")
            with open(listing, "rb") as fin:
                subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd,
                               stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            irs.append(next(int(l.split()[1]) for l in open(out) if l.startswith("summary:")))
        print("  callgrind: provides %.0f M, requires %.0f M instructions (%.0f k per module)"
              % (irs[0] / 1e6, irs[1] / 1e6, sum(irs) / len(mods) / 1e3))

    if not a.no_rpm:
        chosen = [m for m in mods if m.startswith(os.path.join(moddir, "kernel") + "/")][:a.rpm_modules]
        rel_list = os.path.join(tmp, "rpm-modules")
        with open(rel_list, "w") as f:
            f.write("".join(os.path.relpath(m, os.path.join(moddir, "kernel")) + "\n" for m in chosen))
        spec = os.path.join(tmp, "bench.spec")
        with open(spec, "w") as f:
            f.write(SPEC % dict(n=len(chosen), rel=release, kernel=os.path.join(moddir, "kernel"), list=rel_list))

        def rpmbuild(*defines):
            top = os.path.join(tmp, "rpm")
            shutil.rmtree(top, ignore_errors=True)
            cmd = [os.path.join(SRC, "tests/rpm/rpmbuild-uninstalled"), a.build, "-bb", "--quiet",
                   "--define", "_topdir " + top, "--define", "_kabideps_symvers " + symvers]
            for d in defines:
                cmd += ["--define", d]
            return timed(cmd + [spec])

        for label, extra in (("default payload", ()), ("uncompressed payload", ("_binary_payload w.ufdio",))):
            t_on, _, _ = median_of(max(3, a.runs // 2), lambda: rpmbuild(*extra))
            t_off, _, _ = median_of(max(3, a.runs // 2), lambda: rpmbuild("__kabideps_path ^$", *extra))
            print("  rpmbuild of %d modules, %s: %.2f s with kabi-deps, %.2f s without: %+.1f%%"
                  % (len(chosen), label, t_on, t_off, 100 * (t_on - t_off) / t_off))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
