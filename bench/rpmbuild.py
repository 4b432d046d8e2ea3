#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What kabi-deps adds to rpmbuild, per module (not part of the tests).

    bench/rpmbuild.py [--build DIR] [--rpm PREFIX] [--generator GEN]
                      [--modules N] [--runs N] [--defines MACRO=VALUE...] [--perf FILE]
                      [--floor] [--replay] [--cli PROGRAM] [--callgrind]

Packages --modules (1,000) modules of a Debian kernel (tests/real/fetch-kernel.sh,
cached) under /lib/modules/R/extra with a plain spec, with kabi-deps, without
it as if not installed (--define '__kabideps_path ^$' and rpm's own
%__elf_exclude_path, which kabideps.attr extends to all modules) and
installed but switched off (only '__kabideps_path ^$': then what the
generator itself adds, beyond the elfdeps starts it saves, is the
difference), alternately, --runs times each after one warm-up of each, and
prints the medians of wall time and the least CPU time (user + system of
rpmbuild and its children) of each, and the differences per module.

--rpm PREFIX runs PREFIX/bin/rpmbuild (an rpm built from source, e.g. the
test cache's rpm-4.14.3-*; LD_LIBRARY_PATH=PREFIX/lib only if it needs it)
instead of this machine's.  --generator: the way rpmbuild runs kabi-deps, one of the attr
variants of the build tree (singlefile: the CLI per file and kind, as
rpm < 4.16 does; lua: in-process; multifile: per package, rpm >= 4.20;
default: the configured one).  The CLI's Module.symvers index goes to a
fresh cache directory (XDG_CACHE_HOME), made by the warm-up run.

Floors, each a further kind of run alternated with the two (and warmed up):
--floor (singlefile): the attrs run, where they run the CLI, a static
program that reads its input and prints nothing (bench/null-generator.c):
what rpm's own expansion, fork and exec of the generators costs a module.
--replay: the attrs run a generator that prints, from a table made
beforehand by the CLI, the same dependencies for each file: what rpm itself
spends on running a generator and taking its lines (parsing each, merging
them into the package), which no generator can avoid; with kabi-deps minus
replay is what kabi-deps adds beyond that.  With singlefile the table is
made by the CLI per file, as rpm runs it, and printed by a static program
(bench/replay-generator.c); otherwise it is a Lua table (made by the CLI
--multifile) printed by a parametric Lua macro (rpm >= 4.16).
--perf FILE: the warm-up runs under perf record -g (FILE.on, FILE.off,
FILE.floor, FILE.replay), to see where the time goes: perf report -i
FILE.on --no-children --sort comm,dso,sym (--runs 0: only those).
--cli PROGRAM: the attrs of the runs with kabi-deps run PROGRAM where they
run the build tree's CLI (same arguments).
--callgrind: after the timed runs, one run of each kind with rpmbuild's own
process under callgrind (children not traced: with --generator lua that is
all of kabi-deps; OMP_NUM_THREADS=1, so that rpm's worker threads do not
spin), and the instructions each kind adds a module: figures the load of
a shared machine does not change, where the times above drown in it.
"""
import argparse, glob, os, platform, shlex, shutil, statistics, subprocess, sys, tempfile, time

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
    ap.add_argument("--floor", action="store_true",
                    help="also run a static program that prints nothing in place of the CLI (singlefile)")
    ap.add_argument("--replay", action="store_true",
                    help="also run a generator that prints what kabi-deps gives, from a table: rpm's own share")
    ap.add_argument("--perf", help="profile the first run of each kind under perf record -g, to PERF.on, "
                    "PERF.off, ... (the times of those runs are perf's too)")
    ap.add_argument("--cli", help="the runs with kabi-deps run PROGRAM instead of the CLI")
    ap.add_argument("--callgrind", action="store_true",
                    help="also count rpmbuild's own instructions of one run of each kind (valgrind)")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    suffix = "uninstalled" + ("-" + a.generator if a.generator else "")
    attrs = sorted(glob.glob(os.path.join(build, "fileattrs", "*.attr." + suffix)))
    if not attrs:
        sys.exit("bench: no %s attrs in %s/fileattrs (build first; not usable with this rpm?)" % (suffix, build))
    # which way the attrs are: parametric (in-process), multifile or per file
    text = "".join(open(p).read() for p in attrs)
    singlefile = "%__kabideps_provides()" not in text and "_protocol multifile" not in text
    if a.floor and "%__kabideps_provides()" in text:
        sys.exit("bench: --floor needs attrs that run the CLI (--generator singlefile or multifile)")
    env = dict(os.environ)
    rpmbuild, rpm = "rpmbuild", "rpm"
    if a.rpm:
        prefix = os.path.abspath(a.rpm)
        rpmbuild, rpm = os.path.join(prefix, "bin", "rpmbuild"), os.path.join(prefix, "bin", "rpm")
        # Only when its binaries do not find their libraries themselves
        # (RUNPATH, as the test cache's builds have it): rpmbuild's children inherit
        # the variable, and each dynamically linked one (the CLI) would
        # then look for every library in PREFIX/lib first (some 40 failed
        # lookups a process), which no installed rpm makes them do.
        if subprocess.run([rpm, "--version"], env=env, capture_output=True).returncode != 0:
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
        bench(a, env, rpm, rpmbuild, version, attrs, suffix, singlefile, mods, release, kernel, symvers, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def not_installed(rpm, env):
    """The defines of a run as if kabi-deps were not installed: its path
    matching nothing, and rpm's own %__elf_exclude_path (kabideps.attr
    widens it, so that rpm starts no elfdeps for a module), as rpm would
    expand it: --eval has expanded it once, so its backslashes are doubled
    for the define's own expansion."""
    own = sh(rpm, "--eval", "%{?__elf_exclude_path}", env=env).strip().replace("\\", "\\\\")
    return ["__kabideps_path ^$", "__elf_exclude_path " + (own or "%{nil}")]


def static_program(source, out, *cflags):
    sh(os.environ.get("CC", "cc"), "-O2", "-static", *cflags, "-o", out, os.path.join(SRC, "bench", source))
    return out


def attr_setup(rpm, env, attrs, suffix, tmp, build, cli=None):
    """rpm's own attrs and ours, as rpmbuild-uninstalled does, for any rpm:
    the --macros path and the _fileattrsdir for rpmbuild, in the new
    directory tmp.  cli: a program the attrs run instead of the build
    tree's CLI (same arguments)."""
    attrdir = os.path.join(tmp, "fileattrs")
    os.makedirs(attrdir)
    own = subprocess.run([rpm, "--eval", "%{_fileattrsdir}"], env=env, check=True, capture_output=True,
                         text=True).stdout.strip()
    ours = []
    built_cli = os.path.join(os.path.abspath(build), "plugin", "kabi-deps")
    for p in attrs:
        dest = os.path.join(attrdir, os.path.basename(p)[:-len("." + suffix)])
        if cli:
            with open(p) as f, open(dest, "w") as out:
                out.write(f.read().replace(built_cli + " ", os.path.abspath(cli) + " "))
        else:
            os.symlink(p, dest)
        ours.append(dest)
    # (rpm 4.14 has no --load: its macro path, and ours after it)
    showrc = subprocess.run([rpm, "--showrc"], env=env, check=True, capture_output=True, text=True).stdout
    macro_path = next(l.split(":", 1)[1].strip() for l in showrc.splitlines() if l.startswith("Macro path:"))
    macro_path = ":".join([macro_path, os.path.join(os.path.abspath(build), "macros.d", "macros.kabideps")] + ours)
    for p in glob.glob(os.path.join(own, "*.attr")):
        if not os.path.exists(os.path.join(attrdir, os.path.basename(p))):
            os.symlink(p, os.path.join(attrdir, os.path.basename(p)))
    return macro_path, attrdir


def bench(a, env, rpm, rpmbuild, version, attrs, suffix, singlefile, mods, release, kernel, symvers, tmp):
    env["XDG_CACHE_HOME"] = os.path.join(tmp, "xdg")
    listing = os.path.join(tmp, "modules")
    with open(listing, "w") as f:
        f.write("".join(m + "\n" for m in mods))
    spec = os.path.join(tmp, "bench.spec")
    with open(spec, "w") as f:
        f.write(SPEC % dict(n=len(mods), rel=release, kernel=kernel, list=listing))
    # each kind of run: its macro path, attr directory and defines
    setups = {}
    setups["on"] = attr_setup(rpm, env, attrs, suffix, os.path.join(tmp, "on"), a.build, a.cli) + ([],)
    setups["off"] = setups["on"][:2] + (not_installed(rpm, env),)
    setups["installed_off"] = setups["on"][:2] + (["__kabideps_path ^$"],)
    if a.floor:
        null = static_program("null-generator.c", os.path.join(tmp, "null-generator"))
        setups["floor"] = attr_setup(rpm, env, attrs, suffix, os.path.join(tmp, "floor"), a.build, null) + ([],)
    if a.replay and singlefile:
        table = os.path.join(tmp, "replay-table")
        write_replay_table(a, env, rpm, setups["on"][0], mods, release, kernel, symvers, table)
        prog = static_program("replay-generator.c", os.path.join(tmp, "replay-generator"),
                              '-DREPLAY_DIR="%s"' % table)
        setups["replay"] = attr_setup(rpm, env, attrs, suffix, os.path.join(tmp, "replay"), a.build, prog) + ([],)
    elif a.replay:
        macro_path, attrdir, _ = setups["on"]
        macro_path += ":" + write_replay(a, env, rpm, macro_path, attrdir, mods, release, kernel, symvers, tmp)
        setups = {k: (macro_path, attrdir, d + ["__kabireplay_path ^$"]) for k, d in
                  ((k, v[2]) for k, v in setups.items())}
        setups["replay"] = (macro_path, attrdir, ["__kabideps_path ^$"])
    profiled = set()

    def run(kind, callgrind=None):
        macro_path, attrdir, defines = setups[kind]
        top = os.path.join(tmp, "rpm")
        shutil.rmtree(top, ignore_errors=True)
        cmd = [rpmbuild, "--macros", macro_path, "--define", "_fileattrsdir " + attrdir, "-bb", "--quiet",
               "--define", "_topdir " + top, "--define", "_kabideps_symvers " + symvers]
        for d in a.define + defines:
            cmd += ["--define", d]
        if a.perf and kind not in profiled:
            profiled.add(kind)
            cmd = ["perf", "record", "-q", "-g", "-o", a.perf + "." + kind, "--"] + cmd
        run_env = env
        if callgrind:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + callgrind] + cmd
            run_env = dict(env, OMP_NUM_THREADS="1")
        start = time.perf_counter()
        p = subprocess.Popen(cmd + [spec], env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = p.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("bench: rpmbuild failed:\n" + err[-3000:])
        built = glob.glob(os.path.join(top, "RPMS", "*", "*.rpm"))
        deps = subprocess.run([rpm, "-qp", "--requires", "--provides"] + built, env=env,
                              capture_output=True, text=True).stdout.splitlines()
        return wall, usage.ru_utime + usage.ru_stime, sorted(deps)

    kinds = [k for k in ("on", "off", "installed_off", "floor", "replay") if k in setups]
    print("machine:  " + machine())
    print("rpm:      %s (%s), kabi-deps attrs: %s%s" % (version, rpmbuild, suffix,
                                                       ", running " + os.path.basename(a.cli) if a.cli else ""))
    print("package:  %d modules of %s under extra/; medians of %d alternated runs of %s"
          % (len(mods), release, a.runs, ", ".join(kinds)))
    print("load:     %.1f %.1f %.1f (before)" % os.getloadavg())
    for k in kinds:  # warm-up: page cache, the CLI's index
        run(k)
    if a.runs == 0:
        return
    res = {k: [] for k in kinds}
    for _ in range(a.runs):
        for k in kinds:
            res[k].append(run(k))
    print("load:     %.1f %.1f %.1f (after)" % os.getloadavg())
    n = len(mods)
    wall = {k: statistics.median(r[0] for r in v) for k, v in res.items()}
    cpu = {k: min(r[1] for r in v) for k, v in res.items()}
    label = {"on": "with kabi-deps", "installed_off": "switched off", "floor": "floor (null)", "replay": "replay"}
    print("  %-16s %8.2f s wall %8.2f s CPU (least)" % ("without", wall["off"], cpu["off"]))
    for k in kinds:
        if k != "off":
            print("  %-16s %8.2f s wall %8.2f s CPU: %+.2f ms a module wall, %+.2f ms CPU" %
                  (label[k], wall[k], cpu[k], 1000 * (wall[k] - wall["off"]) / n, 1000 * (cpu[k] - cpu["off"]) / n))
    for k in ("installed_off", "floor", "replay"):
        if k in res:
            print("  kabi-deps beyond %-12s %+.2f ms a module wall, %+.2f ms CPU"
                  % (label[k], 1000 * (wall["on"] - wall[k]) / n, 1000 * (cpu["on"] - cpu[k]) / n))
    # how far apart the runs of a kind are: what a difference above can mean
    print("  spread (least to most) of the runs: " +
          "; ".join("%s %.2f-%.2f s wall, %.2f-%.2f s CPU" % (k, min(r[0] for r in res[k]), max(r[0] for r in res[k]),
                                                           cpu[k], max(r[1] for r in res[k])) for k in kinds))
    print("  dependencies of the package: " + ", ".join("%d %s" % (len(res[k][0][2]), k) for k in kinds))
    if "replay" in res and res["replay"][0][2] != res["on"][0][2]:
        print("  (the replay's dependencies differ from kabi-deps': it is no floor)")
    if a.callgrind:
        out = os.path.join(tmp, "callgrind.out")
        ir = {}
        for k in kinds:
            run(k, out)
            ir[k] = next(int(l.split()[1]) for l in open(out) if l.startswith("summary:"))
        print("  callgrind, rpmbuild's own process: %.0f M instructions without" % (ir["off"] / 1e6))
        for k in kinds:
            if k != "off":
                print("  %-16s %+8.0f k instructions a module" % (label[k], (ir[k] - ir["off"]) / n / 1e3))
        for k in ("installed_off", "floor", "replay"):
            if k in ir:
                print("  kabi-deps beyond %-12s %+.0f k instructions a module"
                      % (label[k], (ir["on"] - ir[k]) / n / 1e3))


def write_replay_table(a, env, rpm, macro_path, mods, release, kernel, symvers, table):
    """The singlefile replay's table: what the CLI prints for each file and
    kind, run as rpm runs it (its macro's command line, the path on stdin,
    RPM_BUILD_ROOT), in TABLE/KIND/PATH."""
    root = os.path.join(table, "root")
    extra = os.path.join(root, "lib", "modules", release, "extra")
    os.makedirs(os.path.dirname(extra))
    os.symlink(kernel, extra)
    defines = sum((["--define", d] for d in a.define + ["_kabideps_symvers " + symvers]), [])
    for kind in ("provides", "requires", "supplements", "recommends"):
        line = subprocess.run([rpm, "--macros", macro_path] + defines + ["--eval", "%%{?__kabideps_%s}" % kind],
                              env=env, check=True, capture_output=True, text=True).stdout.strip()
        if not line:
            continue  # rpm starts no process for it
        for m in mods:
            path = "/lib/modules/%s/extra/%s" % (release, m)
            out = subprocess.run(shlex.split(line), input=root + path + "\n", env=dict(env, RPM_BUILD_ROOT=root),
                                 capture_output=True, text=True).stdout
            dest = os.path.join(table, kind + path)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, "w") as f:
                f.write(out)


def write_replay(a, env, rpm, macro_path, attrdir, mods, release, kernel, symvers, tmp):
    """The replay generator of the modules under extra/ (one package)."""
    root = os.path.join(tmp, "replay-root")
    extra = os.path.join(root, "lib", "modules", release, "extra")
    os.makedirs(os.path.dirname(extra))
    os.symlink(kernel, extra)
    paths = ["/lib/modules/%s/extra/%s" % (release, m) for m in mods]
    return replay_attr(os.path.join(os.path.abspath(a.build), "plugin", "kabi-deps"), env, rpm, macro_path,
                       a.define, root, [paths], symvers, attrdir, tmp)[0]


def replay_attr(kabi, env, rpm, macro_path, defines, root, packages, symvers, attrdir, tmp):
    """The replay generator: kabi-deps' dependencies of each file, by the
    CLI kabi (--multifile, the options rpm would pass with these defines,
    one process per package and kind as rpm >= 4.20 runs it, so that it
    drops what the package provides itself), printed from a Lua table that
    each rpmbuild loads once.  packages: the paths of each package's files
    in the buildroot root (where their path, which decides their kind, is
    the package's).  Its attr goes to attrdir (off: __kabireplay_path ^$).
    Returns the attr and the Lua file."""
    options = subprocess.run([rpm, "--macros", macro_path] + sum((["--define", d] for d in defines), []) +
                             ["--eval", "%{__kabideps_cli_options}"], env=env, check=True, capture_output=True,
                             text=True).stdout.split()
    table = {}
    for paths in packages:
        for kind in ("provides", "requires", "supplements", "recommends"):
            out = subprocess.run([kabi, kind, "--multifile", "--buildroot", root] + options +
                                 (["--symvers", symvers] if kind == "requires" else []),
                                 input="".join(root + p + "\n" for p in paths), env=env, capture_output=True,
                                 text=True).stdout
            path = None
            for line in out.splitlines():
                if line.startswith(";"):
                    path = line[1 + len(root):]
                elif path:
                    table.setdefault(kind, {}).setdefault(path, []).append(line)
    glue = os.path.join(tmp, "replay.lua")
    with open(glue, "w") as f:
        f.write("local deps = {\n")
        for kind, files in table.items():
            f.write("  %s = {\n" % kind)
            for path, lines in files.items():
                f.write("    [%s] = %s,\n" % (lua_string(path), lua_string("\n".join(lines))))
            f.write("  },\n")
        f.write("}\n"
                "KABI_REPLAY = function(kind)\n"
                "  local path = rpm.expand('%1'):sub(#rpm.expand('%{buildroot}') + 1)\n"
                "  local text = deps[kind] and deps[kind][path]\n"
                "  if text then print(text) end\n"
                "end\n"
                "return KABI_REPLAY\n")
    attr = os.path.join(attrdir, "kabireplay.attr")
    with open(attr, "w") as f:
        f.write("%__kabireplay_path %{?_kabideps_module_files}\n")
        for kind in ("provides", "requires", "supplements", "recommends"):
            f.write('%%__kabireplay_%s() %%{lua: (KABI_REPLAY or dofile("%s"))("%s")}\n' % (kind, glue, kind))
    return attr, glue


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


if __name__ == "__main__":
    main()
