#!/usr/bin/env python3
"""Symsets end to end: tarballs built from a real Module.symvers, checked
independently (hashes, grouping, reproducibility, --reference); then a kernel
package and the example kmod built with plain specs, and rpm itself decides
whether the kmod installs (rpm --root DIR -i --test)."""
import gzip, hashlib, os, shutil, sys, tarfile, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import UNSIGNED_OK, Checks, RpmBuilder, kernel_headers, read_symvers, run  # noqa: E402

builddir, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
kabi_deps = os.path.join(builddir, "plugin/kabi-deps")
check = Checks()
kbuild, kver = kernel_headers()
symvers_path = os.path.realpath(os.path.join(kbuild, "Module.symvers"))
rows = read_symvers(symvers_path)
top = tempfile.mkdtemp(prefix="kabi-symsets-")


def members(path):
    with tarfile.open(path) as t:
        out = {}
        for m in t.getmembers():
            if m.isfile():
                out[m.name] = t.extractfile(m).read()
        return out, t.getmembers()


def build_symsets(out, *extra, symvers=symvers_path):
    return run(kabi_deps, "symsets", "--release", kver, "-o", out, *extra, symvers)


def directory_set(module):
    d = module.rsplit("/", 1)[0] if "/" in module else module
    return "".join(c if c.isalnum() and c.isascii() else "_" for c in d)


# --- the tarballs -----------------------------------------------------------
for style in ("suse", "rhel5"):
    a, b = os.path.join(top, style + "-a.tar.gz"), os.path.join(top, style + "-b.tar.gz")
    r1, r2 = build_symsets(a, "--style", style), build_symsets(b, "--style", style)
    check(r1.returncode == 0 and r2.returncode == 0, style + ": kabi-deps symsets succeeds", r1.stderr)
    check(open(a, "rb").read() == open(b, "rb").read(), style + ": byte-identical on a second run")
    files, infos = members(a)
    check(all(i.mtime == 0 and i.uid == 0 and i.gid == 0 and i.uname == "root" for i in infos) and
          [i.name for i in infos][1:] == sorted(i.name for i in infos[1:]),
          style + ": fixed times and owners, sorted members")
    bad_hash, seen, wrong_set, bad_line = [], {}, [], []
    for name, data in files.items():
        d, base = name.split("/")
        sname, h = base.rsplit(".", 1)
        lines = data.decode().splitlines()
        if style == "suse":
            want = hashlib.md5(data).hexdigest()[:16]
            if [l.split("\t")[1] for l in lines] != sorted(l.split("\t")[1] for l in lines):
                bad_line.append(name + " not sorted")
        else:
            want = hashlib.sha1("".join(l.split("\t")[0] for l in lines).encode()).hexdigest()
        if h != want or d != "symsets-" + kver:
            bad_hash.append((name, want))
        for l in lines:
            f = l.split("\t")
            seen[f[1]] = seen.get(f[1], 0) + 1
            mod = f[2]
            if sname != ("vmlinux" if mod == "vmlinux" else directory_set(mod)):
                wrong_set.append((name, l))
    check(not bad_hash, style + ": every set's hash checks out independently (%d sets)" % len(files), bad_hash[:5])
    check(len(seen) == len(rows) and all(v == 1 for v in seen.values()),
          style + ": every export in exactly one set (%d)" % len(rows))
    check(not wrong_set and not bad_line, style + ": grouped by the exporting module's directory",
          (wrong_set[:3], bad_line[:3]))
    want_lines = {"\t".join(r[:4] if style == "suse" else r[:3]) for r in rows}
    got_lines = {l for data in files.values() for l in data.decode().splitlines()}
    check(want_lines == got_lines, style + ": lines are Module.symvers' own")

# groups file: named symbols go to their group, in file order for rhel5
vmlinux_syms = [r[1] for r in rows if r[3 if len(r) > 3 else 2] and r[2] == "vmlinux"][:3]
groups = os.path.join(top, "groups")
with open(groups, "w") as f:
    f.write("# kABI stablelist style\n[mygroup]\n\t%s\n\t%s\n\t%s\n" % tuple(reversed(vmlinux_syms)))
out = os.path.join(top, "groups.tar.gz")
r = build_symsets(out, "--style", "rhel5", "--groups", groups)
files, _ = members(out) if r.returncode == 0 else ({}, [])
mine = [n for n in files if n.split("/")[1].startswith("mygroup.")]
check(len(mine) == 1 and [l.split("\t")[1] for l in files[mine[0]].decode().splitlines()] == list(reversed(vmlinux_syms)),
      "groups file: its symbols form the set, in file order", (r.stderr, mine))
check(sum(l.split("\t")[1] in vmlinux_syms for d in files.values() for l in d.decode().splitlines()) == 3,
      "groups file: those symbols are in no other set")

# a symbol in two groups: an error naming both lines, not a set by chance
with open(groups, "w") as f:
    f.write("[first]\n\t%s\n\t%s\n[second]\n\t%s\n" % (vmlinux_syms[0], vmlinux_syms[1], vmlinux_syms[0]))
r = build_symsets(os.path.join(top, "twice.tar.gz"), "--groups", groups)
check(r.returncode != 0 and "groups:5: %s is in group first already (line 2)" % vmlinux_syms[0] in r.stderr,
      "groups file: a symbol in two groups is an error naming both lines", r.stderr)
# twice in one group: once
with open(groups, "w") as f:
    f.write("[first]\n\t%s\n\t%s\n" % (vmlinux_syms[0], vmlinux_syms[0]))
r = build_symsets(os.path.join(top, "same.tar.gz"), "--groups", groups)
files, _ = members(os.path.join(top, "same.tar.gz")) if r.returncode == 0 else ({}, [])
check(r.returncode == 0 and sum(l.split("\t")[1] == vmlinux_syms[0] for d in files.values()
                                for l in d.decode().splitlines()) == 1,
      "groups file: a symbol twice in one group is in it once", r.stderr)

# --reference: an old set that still holds stays, with its old name
old = os.path.join(top, "old.tar.gz")
build_symsets(old)
old_files, _ = members(old)
changed_row = next(r for r in rows if r[2] == "vmlinux")
grown = next(r for r in rows if r[2] != "vmlinux")
new_symvers = os.path.join(top, "Module.symvers.new")
with open(new_symvers, "w") as f:
    for r in rows:
        if r is changed_row:
            r = ["0x%08x" % (int(r[0], 16) ^ 1)] + r[1:]
        f.write("\t".join(r) + "\n")
    f.write("\t".join(["0x12345678", "kabi_test_new_symbol", grown[2]] + grown[3:]) + "\n")
new = os.path.join(top, "new.tar.gz")
r = build_symsets(new, "--reference", old, symvers=new_symvers)
new_files, _ = members(new) if r.returncode == 0 else ({}, [])
grown_set = directory_set(grown[2])
old_vmlinux = [n for n in old_files if n.split("/")[1].startswith("vmlinux.")]
old_grown = [n for n in old_files if n.split("/")[1].rsplit(".", 1)[0] == grown_set]
check(r.returncode == 0 and old_grown and old_grown[0] in new_files and new_files[old_grown[0]] == old_files[old_grown[0]],
      "--reference keeps an old set whose lines all hold, byte for byte", r.stderr)
check(len([n for n in new_files if n.split("/")[1].rsplit(".", 1)[0] == grown_set]) == 2,
      "--reference: the grown set is there in its new version too")
check(old_vmlinux and old_vmlinux[0] not in new_files, "--reference drops an old set whose CRC changed")
unchanged = [n for n in old_files if n in new_files and n not in old_grown]
check(len(unchanged) == len(old_files) - 2, "unchanged sets keep their names (%d)" % len(unchanged))

# --- rpm decides ------------------------------------------------------------
src = os.path.join(top, "SOURCES")
os.makedirs(src)
shutil.copy(old, os.path.join(src, "symsets-%s.tar.gz" % kver))
with open(symvers_path, "rb") as f, gzip.GzipFile(os.path.join(src, "symvers-%s.gz" % kver), "wb", mtime=0) as g:
    g.write(f.read())
changed_symvers = os.path.join(top, "changed.symvers")
printk = next(r for r in rows if r[1] in ("_printk", "printk"))
with open(changed_symvers, "w") as f:
    for r in rows:
        f.write("\t".join(["0x%08x" % (int(r[0], 16) ^ 0x100)] + r[1:] if r is printk else r) + "\n")
os.makedirs(os.path.join(top, "changed"))
build_symsets(os.path.join(top, "changed", "symsets-%s.tar.gz" % kver), symvers=changed_symvers)
with open(changed_symvers, "rb") as f, gzip.GzipFile(os.path.join(top, "changed", "symvers-%s.gz" % kver), "wb", mtime=0) as g:
    g.write(f.read())

KERNEL_SPEC = """Name: %(name)s
Version: 1
Release: 1
Summary: kernel reference data for the test
License: GPL-2.0-only
Source0: symsets-%%{kver}.tar.gz
Source1: symvers-%%{kver}.gz
%%description
Stands for a kernel package: it ships /boot/symsets-R.tar.gz and /boot/symvers-R.gz.
%%install
install -D -m 644 %%{SOURCE0} %%{buildroot}/boot/symsets-%%{kver}.tar.gz
install -D -m 644 %%{SOURCE1} %%{buildroot}/boot/symvers-%%{kver}.gz
%%files
/boot/symsets-%%{kver}.tar.gz
/boot/symvers-%%{kver}.gz
"""


rb = RpmBuilder(builddir, srcdir, kbuild, kver, topdir=top)


def rpmbuild_spec(spec_text, name, sourcedir, defines=()):
    r = rb.build(name, spec_text, sourcedir, defines=defines)
    return r, rb.rpm(name) if r.returncode == 0 else None


def query(rpm_file, what):
    return set(run("rpm", "-qp", "--" + what, rpm_file).stdout.splitlines())


r, kernel_rpm = rpmbuild_spec(KERNEL_SPEC % {"name": "kernel-ref"}, "kernel-ref", src)
check(kernel_rpm is not None, "kernel-side package builds", r.stderr[-2000:])
set_names = [n.split("/")[1].rsplit(".", 1) for n in old_files]
prov = query(kernel_rpm, "provides") if kernel_rpm else set()
check(all("kernel(%s) = %s" % (s, h) in prov for s, h in set_names),
      "kernel package provides kernel(SET) = HASH for all %d sets" % len(set_names))
vml = [r for r in rows if r[2] == "vmlinux"]
check(all("kernel(%s) = %s" % (r[1], r[0]) in prov for r in vml),
      "kernel package provides kernel(SYM) = CRC for the %d exports of vmlinux" % len(vml))
module_only = {r[1] for r in rows if r[2] != "vmlinux"} - {r[1] for r in vml}
provided_syms = {p.split(" ")[0][len("kernel("):-1] for p in prov if p.startswith("kernel(")}
check(not (provided_syms & module_only), "and not for the exports of modules")

r, changed_rpm = rpmbuild_spec(KERNEL_SPEC % {"name": "kernel-changed"}, "kernel-changed", os.path.join(top, "changed"))
check(changed_rpm is not None, "kernel package with one changed CRC builds", r.stderr[-2000:])

kmp_spec = open(os.path.join(srcdir, "examples/kmp/kmp-kmod.spec")).read()
r, kmod_sets = rpmbuild_spec(kmp_spec, "kmp-kmod", os.path.join(srcdir, "examples/kmp"),
                             defines=("_kabideps_symsets " + os.path.join(src, "symsets-%s.tar.gz" % kver),))
req = query(kmod_sets, "requires") if kmod_sets else set()
vmlinux_hash = dict(set_names)["vmlinux"]
check(kmod_sets and "kernel(vmlinux) = " + vmlinux_hash in req and not any(q.startswith(("ksym(", "kernel(_")) for q in req),
      "the kmod requires kernel(vmlinux) = HASH instead of per-symbol lines", req)
shutil.move(kmod_sets, os.path.join(top, "kmod-sets.rpm"))
kmod_sets = os.path.join(top, "kmod-sets.rpm")
r, kmod_syms = rpmbuild_spec(kmp_spec, "kmp-kmod", os.path.join(srcdir, "examples/kmp"))


def installs(*rpms):
    root = tempfile.mkdtemp(dir=top)
    run("rpm", "--root", root, "--initdb")
    r = run("rpm", "--root", root, "-i", "--test", "--ignorearch", *UNSIGNED_OK, *rpms)
    shutil.rmtree(root)
    return r.returncode == 0, r.stderr


for label, kmod in (("symsets", kmod_sets), ("per-symbol", kmod_syms)):
    ok, err = installs(kmod)
    check(not ok and "kernel(" in err, label + " kmod alone: refused", err[-500:])
    ok, err = installs(kernel_rpm, kmod)
    check(ok, label + " kmod next to its kernel: installs", err[-1000:])
    ok, err = installs(changed_rpm, kmod)
    check(not ok, label + " kmod next to a kernel whose printk CRC changed: refused", err[-500:])

shutil.rmtree(top)
check.finish()
