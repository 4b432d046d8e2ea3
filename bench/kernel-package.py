#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What kabi-deps adds to rpmbuild of a whole compressed kernel tree (not part
of the tests, but --check is one).

    bench/kernel-package.py [--build DIR] [--modules N] [--runs N] [--replay] [--check]

Packages Debian 13's 6.12 module tree (.ko.xz, tests/real/fetch-kernel.sh's
cache, trixie) as a kernel package with %_kabideps_in_tree 1, in two
subpackages whose files interleave in path order (kernel-modules-extra:
drivers/net/wireless and sound, as distributions split them; kernel-modules:
the rest), with the in-process (lua) generator; with kabi-deps and without
it, as if not installed (--define '__kabideps_path ^$' and rpm's own
%__elf_exclude_path, which kabideps.attr extends to all modules),
alternately, --runs times each after one warm-up of each, with kabi-deps
reading one module at a time (KABI_DEPS_THREADS=0), and installed but
switched off (then what the generator itself adds, beyond the elfdeps
starts it saves, is the difference).  Prints the medians of wall time, the
least CPU time (user + system of rpmbuild and its children) and the largest peak
memory (max RSS) of each, and one single-threaded `xz -dc` pass over the same
files to compare with.  The payload is not compressed (w0.ufdio): that is
rpm's own time, the same both ways.

--replay: a further kind of run, alternated with the others: kabi-deps
installed but switched off, and a parametric Lua macro printing, from a
table made beforehand by the CLI (--multifile, per subpackage), the same dependencies
for each file (bench/rpmbuild.py's replay): what rpm itself spends, in time
and peak memory, on taking exactly these lines; with kabi-deps minus replay
is what kabi-deps adds beyond that.  rpmbuild loads the table once; what
loading it costs rpm's Lua (memory, peak RSS) is printed, as it is in the
replay's peak.  The dependencies of each subpackage are compared with
kabi-deps' (a warning unless the same).

--check: build once with read-ahead (the default) and once without
(KABI_DEPS_THREADS=0), and exit 1 unless every subpackage has exactly the
same Provides and Requires both ways (the sibling rule sees a subpackage's
own files only) and the extra subpackage requires kernel() symbols of the
main one.  --tree DIR --symvers FILE: another kernel's modules (e.g. in a
Debian 13 root, for its rpm 4.20).  --modules N takes the first N modules of the tree, --under DIR...
those under these directories of it (kernel/net ...).
"""
import argparse, glob, os, shutil, statistics, subprocess, sys, tempfile, time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpmbuild import attr_setup, machine, not_installed, replay_attr, sh  # noqa: E402

EXTRA = ("kernel/drivers/net/wireless/", "kernel/sound/")

SPEC = """Name: bench-kernel
Version: 1
Release: 1
Summary: %(n)d modules of a distribution kernel
License: GPL-2.0-only
%%global debug_package %%{nil}
%%global __brp_strip %%{nil}
%%description
Benchmark package.
%%package modules-extra
Summary: Modules most machines do not need
%%description modules-extra
Benchmark package.
%%install
mkdir -p %%{buildroot}/lib/modules/%(rel)s
tar -C %(tree)s -cf - -T %(list)s | tar -C %%{buildroot}/lib/modules/%(rel)s -xf -
%%files -f %(main)s
%%files modules-extra -f %(extra)s
"""


def write_lists(tmp, rel, mods):
    paths = {}
    for name, keep in (("main", lambda m: not m.startswith(EXTRA)), ("extra", lambda m: m.startswith(EXTRA))):
        paths[name] = os.path.join(tmp, name + ".files")
        with open(paths[name], "w") as f:
            f.write("".join("/lib/modules/%s/%s\n" % (rel, m) for m in mods if keep(m)))
    paths["list"] = os.path.join(tmp, "modules")
    with open(paths["list"], "w") as f:
        f.write("".join(m + "\n" for m in mods))
    return paths


def compare(x, y, xs, ys):
    """Print the Provides and Requires of each package of two builds (x,
    y: what run() returns, described as xs and ys); False unless the same."""
    same = True
    for name in sorted(set(x) | set(y)):
        dx, dy = x.get(name, ("", "")), y.get(name, ("", ""))
        print("  %s: %d provides, %d requires %s; %d, %d %s"
              % (name, len(dx[0].splitlines()), len(dx[1].splitlines()), xs, len(dy[0].splitlines()),
                 len(dy[1].splitlines()), ys))
        for kind, ax, ay in (("provides", dx[0], dy[0]), ("requires", dx[1], dy[1])):
            if ax != ay:
                same = False
                sx, sy = set(ax.splitlines()), set(ay.splitlines())
                print("    %s only %s: %s\n    only %s: %s" % (kind, xs, sorted(sx - sy)[:10], ys, sorted(sy - sx)[:10]))
    return same


def table_cost(env, glue):
    """What loading the replay's table costs rpm's Lua: its memory and the
    growth of the peak RSS of an rpm process, in MB."""
    probe = glue + ".probe"
    with open(probe, "w") as f:
        f.write('local function hwm()\n'
                '  for l in io.lines("/proc/self/status") do\n'
                '    local kb = l:match("^VmHWM:%%s*(%%d+)")\n'
                '    if kb then return tonumber(kb) end\n'
                '  end\n'
                'end\n'
                'collectgarbage()\n'
                'local kb, peak = collectgarbage("count"), hwm()\n'
                'dofile("%s")\n'
                'collectgarbage()\n'
                'print(string.format("%%.1f %%.1f", (collectgarbage("count") - kb) / 1024, (hwm() - peak) / 1024))\n'
                % glue)
    return [float(v) for v in sh("rpm", "--eval", '%%{lua: dofile("%s")}' % probe, env=env).split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--modules", type=int, default=0, help="the first N modules (0: all)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--replay", action="store_true",
                    help="also run a generator that prints what kabi-deps gives, from a table: rpm's own share")
    ap.add_argument("--tree", help="a module tree (.../lib/modules/R) instead of the cached Debian 13 one")
    ap.add_argument("--symvers", help="its Module.symvers (with --tree)")
    ap.add_argument("--under", nargs="+", default=[], help="only the modules under these dirs of the tree")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    suffix = "uninstalled-lua"
    attrs = sorted(glob.glob(os.path.join(build, "fileattrs", "*.attr." + suffix)))
    if not attrs:
        print("bench: no %s attrs in %s/fileattrs (rpm without the in-process generator?)" % (suffix, build))
        sys.exit(77)
    if a.tree:
        tree, symvers = os.path.abspath(a.tree), os.path.abspath(a.symvers)
    else:
        cache = sh(os.path.join(SRC, "tests/lib/cache-dir.sh")).strip()
        fetched = subprocess.run([os.path.join(SRC, "tests/real/fetch-kernel.sh"), cache, "amd64", "trixie"],
                                 capture_output=True, text=True)
        if fetched.returncode == 2:
            print("bench: Debian 13's kernel cannot be fetched: " + fetched.stderr.strip())
            sys.exit(77)
        if fetched.returncode != 0:
            sys.exit("bench: fetch-kernel.sh failed: " + fetched.stderr)
        tree, symvers = fetched.stdout.split()[:2]
    rel = os.path.basename(tree)
    mods = sorted(os.path.relpath(os.path.join(r, f), tree) for r, _, fs in os.walk(os.path.join(tree, "kernel"))
                  for f in fs if f.endswith(".ko.xz"))
    if a.under:
        mods = [m for m in mods if m.startswith(tuple(d.rstrip("/") + "/" for d in a.under))]
    if a.modules:
        mods = mods[:a.modules]
    env = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="kabi-bench-kernel-")
    try:
        lists = write_lists(tmp, rel, mods)
        spec = os.path.join(tmp, "bench.spec")
        with open(spec, "w") as f:
            f.write(SPEC % dict(n=len(mods), rel=rel, tree=tree, **lists))
        macro_path, attrdir = attr_setup("rpm", env, attrs, suffix, tmp, a.build)
        # each kind of run: its defines and environment
        without = not_installed("rpm", env)
        # installed but switched off: what the generator itself adds is on - installed_off
        switched_off = ["__kabideps_path ^$"]
        kinds = {"on": ([], {}), "off": (without, {}), "alone": ([], {"KABI_DEPS_THREADS": "0"}),
                 "installed_off": (switched_off, {})}
        if a.replay and not a.check:
            root = os.path.join(tmp, "replay-root")
            os.makedirs(os.path.join(root, "lib", "modules"))
            os.symlink(tree, os.path.join(root, "lib", "modules", rel))
            packages = [[l.rstrip("\n") for l in open(lists[name])] for name in ("main", "extra")]
            attr, glue = replay_attr(os.path.join(build, "plugin", "kabi-deps"),
                                     dict(env, XDG_CACHE_HOME=os.path.join(tmp, "xdg")), "rpm", macro_path,
                                     ["_kabideps_in_tree 1"], root, packages, symvers, attrdir, tmp)
            macro_path += ":" + attr
            replay_files = sum(map(len, packages))
            kinds = {k: (d + ["__kabireplay_path ^$"], e) for k, (d, e) in kinds.items()}
            kinds["replay"] = (switched_off, {})

        def run(kind):
            top = os.path.join(tmp, "rpm")
            shutil.rmtree(top, ignore_errors=True)
            cmd = ["rpmbuild", "--macros", macro_path, "--define", "_fileattrsdir " + attrdir, "-bb", "--quiet",
                   "--define", "_topdir " + top, "--define", "_kabideps_symvers " + symvers,
                   "--define", "_kabideps_in_tree 1", "--define", "_binary_payload w0.ufdio"]
            for d in kinds[kind][0]:
                cmd += ["--define", d]
            e = dict(env, **kinds[kind][1])
            start = time.perf_counter()
            p = subprocess.Popen(cmd + [spec], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            err = p.stderr.read().decode(errors="replace")
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("bench: rpmbuild failed:\n" + err[-3000:])
            deps = {}
            for rpm_file in sorted(glob.glob(os.path.join(top, "RPMS", "*", "*.rpm"))):
                deps[os.path.basename(rpm_file)] = tuple(subprocess.run(
                    ["rpm", "-qp", query, rpm_file], env=env, check=True, capture_output=True,
                    text=True).stdout for query in ("--provides", "--requires"))
            return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, deps

        if a.check:
            ahead, alone = run("on")[3], run("alone")[3]
            print("%d modules of %s in %d packages" % (len(mods), rel, len(ahead)))
            bad = not compare(ahead, alone, "read ahead", "read one by one")
            for name, x in sorted(ahead.items()):
                # the sibling rule: nothing a package provides is required by it
                own = set(l for l in x[0].splitlines() if l.startswith(("kernel(", "ksym(")))
                if own & set(x[1].splitlines()):
                    bad = True
                    print("  %s requires what it provides: %s" % (name, sorted(own & set(x[1].splitlines()))[:10]))
            # ... but what the other package provides stays a requirement
            main = next((v for k, v in ahead.items() if "modules-extra" not in k), ("", ""))
            extra = next((v for k, v in ahead.items() if "modules-extra" in k), ("", ""))
            across = set(main[0].splitlines()) & set(extra[1].splitlines())
            print("  the extra package requires %d provides of the main one" % len(across))
            if not across:
                print("  (so this is no test of the sibling rule)")
                bad = True
            sys.exit(1 if bad else 0)

        start = time.perf_counter()
        cpu0 = os.times()
        subprocess.run(["xz", "-dc", "-T1"] + [os.path.join(tree, m) for m in mods], check=True,
                       stdout=subprocess.DEVNULL)
        xz_wall = time.perf_counter() - start
        cpu1 = os.times()
        xz_cpu = cpu1.children_user - cpu0.children_user + cpu1.children_system - cpu0.children_system
        print("machine:  " + machine() + ", load %.2f %.2f %.2f at the start" % os.getloadavg())
        print("rpm:      " + sh("rpm", "--version").strip() + ", kabi-deps in-process (lua)")
        print("package:  %d .ko.xz of %s, 2 subpackages, medians of %d alternated runs" % (len(mods), rel, a.runs))
        print("xz -dc:   %.2f s wall, %.2f s CPU, one thread" % (xz_wall, xz_cpu))
        if a.replay:
            lua_mb, peak_mb = table_cost(env, glue)
            print("replay:   the dependencies of %d files in a Lua file of %.1f MB, loaded once a build: %.1f MB "
                  "of rpm's Lua, +%.1f MB peak RSS (rpm --eval)"
                  % (replay_files, os.path.getsize(glue) / 2**20, lua_mb, peak_mb))
        run("on"), run("off")  # warm-up: the page cache
        order = [k for k in ("on", "off", "alone", "installed_off", "replay") if k in kinds]
        res = {k: [] for k in order}
        for _ in range(a.runs):
            for k in order:
                res[k].append(run(k))
        wall = {k: statistics.median(r[0] for r in v) for k, v in res.items()}
        cpu = {k: min(r[1] for r in v) for k, v in res.items()}
        peak = {k: max(r[2] for r in v) for k, v in res.items()}
        w_on, w_off, c_on, c_off, m_on, m_off = wall["on"], wall["off"], cpu["on"], cpu["off"], peak["on"], peak["off"]
        print("  wall time  %7.2f s with kabi-deps, %7.2f s without: %+.2f s, %.2f times xz -dc"
              % (w_on, w_off, w_on - w_off, (w_on - w_off) / xz_wall))
        print("  CPU time   %7.2f s with kabi-deps, %7.2f s without: %+.2f s (least of each)"
              % (c_on, c_off, c_on - c_off))
        print("  without read-ahead (KABI_DEPS_THREADS=0): %+.2f s wall, %+.2f s CPU, %+.1f MB peak RSS"
              % (wall["alone"] - w_off, cpu["alone"] - c_off, peak["alone"] - m_off))
        print("  peak RSS   %7.1f MB with kabi-deps, %7.1f MB without: %+.1f MB" % (m_on, m_off, m_on - m_off))
        print("  installed, switched off (no elfdeps for modules): %.2f s wall, %.2f s CPU, %.1f MB peak; "
              "the generator adds %+.2f s wall (%.2f times xz -dc), %+.2f s CPU, %+.1f MB peak RSS"
              % (wall["installed_off"], cpu["installed_off"], peak["installed_off"], w_on - wall["installed_off"], (w_on - wall["installed_off"]) / xz_wall,
                 c_on - cpu["installed_off"], m_on - peak["installed_off"]))
        if a.replay:
            print("  replay     %7.2f s wall, %7.2f s CPU, %7.1f MB peak: %+.2f s wall, %+.2f s CPU, %+.1f MB "
                  "(rpm's own, taking the same lines; against switched off)"
                  % (wall["replay"], cpu["replay"], peak["replay"], wall["replay"] - wall["installed_off"],
                     cpu["replay"] - cpu["installed_off"], peak["replay"] - peak["installed_off"]))
            print("  kabi-deps beyond replay: %+.2f s wall (%.2f times xz -dc), %+.2f s CPU, %+.1f MB peak RSS"
                  % (w_on - wall["replay"], (w_on - wall["replay"]) / xz_wall, c_on - cpu["replay"],
                     m_on - peak["replay"]))
            if not compare(res["on"][0][3], res["replay"][0][3], "with kabi-deps", "replayed"):
                print("  (the replay's dependencies differ from kabi-deps': it is no floor)")
        print("  load %.2f %.2f %.2f at the end" % os.getloadavg())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
