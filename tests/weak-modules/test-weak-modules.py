#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""kabi-deps weak-modules on a scratch root of several kernels made from real
data, Debian 12's 6.1 kernel (fetched into the test cache): its Module.symvers
and in-tree modules as kernel A, copies of A with one CRC changed, with the
.gnu.linkonce.this_module section of the in-tree modules 64 bytes smaller
(their section header rewritten), with other vermagic flags, without CRCs;
kmods built against the installed headers, one depending on the other.
After each sequence of kmods and kernels coming and going, exactly the
expected weak links must be there.  RHEL's weak-modules runs on a copy of the
same root: the same decisions where it is right; where it is wrong (struct
module size, vermagic flags; host paths in its links) ours are right.

    test-weak-modules.py KABI_DEPS SRCDIR [enabled|auto]

As the real suite: with auto (the default), an unreachable mirror skips."""
import gzip, os, shutil, struct, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from kabitest import Checks, kernel_headers, make_modules, run  # noqa: E402

kabi_deps, srcdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
check = Checks()
kbuild, kver = kernel_headers()
cache = run(os.path.join(srcdir, "tests/lib/cache-dir.sh")).stdout.strip()
fetched = run(os.path.join(srcdir, "tests/real/fetch-kernel.sh"), cache, "amd64")
required = len(sys.argv) > 3 and sys.argv[3] == "enabled"
if fetched.returncode == 2 and not required:
    print("SKIP: Debian's mirror is unreachable:", fetched.stderr.strip()[-500:])
    sys.exit(77)
if fetched.returncode:
    print("FAIL fetch-kernel.sh:", fetched.stderr.strip()[-1500:])
    sys.exit(1)
real_moddir, real_symvers = fetched.stdout.split()[:2]
REL_A = os.path.basename(real_moddir)
if REL_A != kver:
    print("SKIP: the fetched kernel %s is not the one of the installed headers %s" % (REL_A, kver))
    sys.exit(77)
# RHEL's script, beside the source tree as CI puts it (KABI_DEPS_PEERS elsewhere)
peers = os.environ.get("KABI_DEPS_PEERS") or os.path.join(srcdir, "..", "shared", "peers")
rhel_wm = os.path.join(peers, "redhat-kmod", "weak-modules")

top = tempfile.mkdtemp(prefix="kabi-wm-")
root = os.path.join(top, "root")
depmod_log = os.path.join(top, "depmod.calls")

# ---- kmods: kmp.ko exports hello_world, user.ko imports it
mods = make_modules(kbuild, [os.path.join(srcdir, "examples/kmp/hello.c"),
                             os.path.join(srcdir, "tests/rpm/data/user.c")],
                    "obj-m := kmp.o user.o\nkmp-y += hello.o\n", os.path.join(top, "mods"))
KMP, USER = os.path.join(mods, "kmp.ko"), os.path.join(mods, "user.ko")


def modversions(ko):
    out = run("modprobe", "--dump-modversions", ko, check=True).stdout
    return {l.split("\t")[1]: l.split("\t")[0] for l in out.splitlines()}


kmp_imports, user_imports = modversions(KMP), modversions(USER)
only_kmp = sorted(set(kmp_imports) - set(user_imports))
check(only_kmp and "hello_world" in user_imports, "kmp.ko imports a symbol user.ko does not; user.ko imports "
      "hello_world", (kmp_imports, user_imports))
CHANGED = "_printk" if "_printk" in only_kmp else only_kmp[0]

# ---- kernels
symvers_lines = open(real_symvers).read().splitlines()
INTREE = [l for l in open(os.path.join(real_moddir, "modules.order")).read().split() if l][:3]


def elf_sections(data):
    """{name: (header offset, sh_offset, sh_size)} of an ELF64 LSB file."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    strtab_off = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 0x18)[0]
    out = {}
    for i in range(shnum):
        h = shoff + i * shentsize
        name_off, = struct.unpack_from("<I", data, h)
        name = data[strtab_off + name_off:data.index(b"\0", strtab_off + name_off)].decode()
        off, size = struct.unpack_from("<QQ", data, h + 0x18)
        out[name] = (h, off, size)
    return out


def shrink_this_module(data):
    """The struct module of another build: the section header says 64 bytes less."""
    data = bytearray(data)
    h, _, size = elf_sections(data)[".gnu.linkonce.this_module"]
    struct.pack_into("<Q", data, h + 0x20, size - 64)
    return bytes(data)


def other_flags(data):
    """Another vermagic: the same kernel without the 'preempt' flag."""
    old = b"vermagic=%s SMP preempt mod_unload modversions " % REL_A.encode()
    new = b"vermagic=%s SMP mod_unload modversions " % REL_A.encode()
    check(old in data, "the in-tree module has the vermagic this test rewrites", data[:0])
    return data.replace(old, new + b"\0" * (len(old) - len(new)))


def kernel(rel, symvers=None, intree=lambda d: d, order=True, where="lib/modules"):
    """A kernel: its symvers.gz, System.map (RHEL's script wants it), three
    real in-tree modules (rewritten by intree) and modules.order."""
    d = os.path.join(root, where, rel)
    os.makedirs(d, exist_ok=True)
    for m in INTREE:
        os.makedirs(os.path.dirname(os.path.join(d, m)), exist_ok=True)
        with open(os.path.join(real_moddir, m), "rb") as f, open(os.path.join(d, m), "wb") as g:
            g.write(intree(f.read()))
    if order:
        with open(os.path.join(d, "modules.order"), "w") as f:
            f.write("\n".join(INTREE) + "\n")
        for n in ("modules.builtin", "modules.builtin.modinfo"):
            shutil.copy(os.path.join(real_moddir, n), d)
    if symvers is not None:
        with gzip.open(os.path.join(d, "symvers.gz"), "wt") as f:
            f.write("\n".join(symvers) + "\n")
        open(os.path.join(d, "System.map"), "w").close()
    return d


def with_crc(lines, sym, crc):
    return [("%s\t%s" % (crc, l.split("\t", 1)[1])) if l.split("\t")[1] == sym else l for l in lines]


REL_SAME, REL_CRC, REL_SIZE, REL_FLAGS, REL_NOCRC = ("6.1.0-%d-amd64" % n for n in (70, 71, 72, 73, 74))
REL_NEW = "6.1.0-80-amd64"


def make_root():
    if os.path.exists(root):
        shutil.rmtree(root)
    for d in ("boot", "usr/lib/modules", "etc"):
        os.makedirs(os.path.join(root, d))
    os.symlink("usr/lib", os.path.join(root, "lib"))
    kernel(REL_A, symvers_lines)
    kernel(REL_SAME, symvers_lines)
    kernel(REL_CRC, with_crc(symvers_lines, CHANGED, "0x12345678"))
    kernel(REL_SIZE, symvers_lines, shrink_this_module)
    kernel(REL_FLAGS, symvers_lines, other_flags)
    kernel(REL_NOCRC, [("0x00000000\t%s" % l.split("\t", 1)[1]) for l in symvers_lines])


def install(ko, rel, sub, kind="extra"):
    p = os.path.join(root, "lib/modules", rel, kind, sub)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    shutil.copy(ko, p)
    return p


def links(base=None):
    """{(release, path below weak-updates): what it points at, inside the image}"""
    base = base or root
    out = {}
    modules = os.path.join(base, "usr/lib/modules")
    for rel in sorted(os.listdir(modules)):
        wu = os.path.join(modules, rel, "weak-updates")
        for d, _, files in os.walk(wu):
            for f in files:
                p = os.path.join(d, f)
                if os.path.islink(p):
                    t = os.readlink(p)
                    img = os.path.normpath(os.path.join("/usr/lib/modules", rel, "weak-updates",
                                                        os.path.relpath(d, wu), t)) if not t.startswith("/") else t
                    out[(rel, os.path.relpath(p, wu))] = img
    return out


def wm(*args, stdin=None, base=None):
    env = dict(os.environ, KABI_DEPS_DEPMOD=os.path.join(top, "depmod"))
    return subprocess.run([kabi_deps, "weak-modules", "--root", base or root] + list(args), input=stdin,
                          capture_output=True, text=True, env=env)


# a depmod that logs its calls and runs the real one
with open(os.path.join(top, "depmod"), "w") as f:
    f.write('#!/bin/sh\necho "$*" >>"%s"\nexec /sbin/depmod "$@"\n' % depmod_log)
os.chmod(os.path.join(top, "depmod"), 0o755)


def depmod_calls():
    if not os.path.exists(depmod_log):
        return []
    calls = open(depmod_log).read().split("\n")
    os.unlink(depmod_log)
    return sorted(c.replace("-b %s " % os.path.realpath(root), "") for c in calls if c)


def img(rel, sub):
    return "/usr/lib/modules/%s/extra/%s" % (rel, sub)


# ==== kmods come and go
make_root()
kmp = install(KMP, REL_A, "kmp/kmp.ko")
r = wm("--add-modules", kmp)
check(r.returncode == 0 and not r.stderr, "--add-modules kmp.ko: exit 0, quiet", r.stderr)
check(links() == {(REL_SAME, "kmp/kmp.ko"): img(REL_A, "kmp/kmp.ko")},
      "kmp.ko is linked into the kernel of the same ABI only (not: a CRC changed, struct module size, "
      "vermagic flags, no CRCs)", links())
check(depmod_calls() == ["-a " + REL_SAME], "depmod -b ROOT -a RELEASE ran once, for that kernel")
link = os.path.join(root, "lib/modules", REL_SAME, "weak-updates/kmp/kmp.ko")
check(os.readlink(link) == "../../../%s/extra/kmp/kmp.ko" % REL_A, "the link is relative: it holds inside the "
      "image", os.readlink(link))
dep = open(os.path.join(root, "lib/modules", REL_SAME, "modules.dep")).read()
check("weak-updates/kmp/kmp.ko:" in dep, "depmod -b found the weak link in modules.dep", dep[-500:])

r = wm("--add-modules", stdin="")
check(r.returncode == 0 and not r.stderr and depmod_calls() == [], "a second run changes nothing, runs no "
      "depmod")
r = wm("--add-modules", kmp)
check(r.returncode == 0 and depmod_calls() == ["-a " + REL_SAME], "the module named again (upgraded in place): "
      "depmod for the kernel linking it")

r = wm("--dry-run", "--verbose", "--add-modules", kmp)
out = r.stdout
check(r.returncode == 0 and depmod_calls() == [], "--dry-run --verbose: exit 0, no depmod")
for rel, words in ((REL_SAME, ["linked into " + REL_SAME]),
                   (REL_CRC, ["CRC of " + CHANGED, kmp_imports[CHANGED], "0x12345678"]),
                   (REL_SIZE, ["this_module", "bytes", "%s's is" % REL_SIZE]),
                   (REL_FLAGS, ["vermagic flags differ", "'SMP preempt mod_unload modversions'",
                                "'SMP mod_unload modversions'"]),
                   (REL_NOCRC, ["no CRCs"])):
    line = [l for l in out.splitlines() if l.startswith(img(REL_A, "kmp/kmp.ko") + ":") and
            (" into %s:" % rel in l or l.endswith(" into " + rel))]
    check(len(line) == 1 and all(w in line[0] for w in words), "--verbose explains %s: %s" % (rel, words), out)
sizes = [l for l in out.splitlines() if REL_SIZE in l]
check(sizes and "is %d bytes" % (elf_sections(open(KMP, "rb").read())[".gnu.linkonce.this_module"][2]) in sizes[0]
      and "%d bytes" % (elf_sections(open(KMP, "rb").read())[".gnu.linkonce.this_module"][2] - 64) in sizes[0],
      "--verbose names both struct module sizes", sizes)

# the dependent kmod: linked where its dependency is
user = install(USER, REL_A, "user/user.ko")
r = wm("--add-modules", stdin=user + "\n")
check(r.returncode == 0 and not r.stderr, "--add-modules with the path on stdin", r.stderr)
expected = {(REL_SAME, "kmp/kmp.ko"): img(REL_A, "kmp/kmp.ko"), (REL_SAME, "user/user.ko"): img(REL_A, "user/user.ko")}
check(links() == expected, "user.ko is linked beside kmp.ko, nowhere else", links())
check(depmod_calls() == ["-a " + REL_SAME], "depmod ran once")
r = wm("--dry-run", "--verbose", "--add-modules", user)
crc_line = [l for l in r.stdout.splitlines() if " into %s:" % REL_CRC in l]
check(crc_line and "hello_world" in crc_line[0] and "nor by a module loadable into it" in crc_line[0],
      "user.ko is not linked where kmp.ko is not (transitively), and --verbose says hello_world", r.stdout)

# a kernel arrives: both kmods, dependency first
kernel(REL_NEW, symvers_lines)
r = wm("--add-kernel", REL_NEW)
expected.update({(REL_NEW, "kmp/kmp.ko"): img(REL_A, "kmp/kmp.ko"), (REL_NEW, "user/user.ko"): img(REL_A, "user/user.ko")})
check(r.returncode == 0 and links() == expected, "--add-kernel: the new kernel gets both links", (r.stderr, links()))
check(depmod_calls() == ["-a " + REL_NEW], "depmod ran for the new kernel only")

# the newest build wins; a kernel's own build is never shadowed
kmp_new = install(KMP, REL_NEW, "kmp/kmp.ko")
r = wm("--add-modules", kmp_new)
expected[(REL_SAME, "kmp/kmp.ko")] = img(REL_NEW, "kmp/kmp.ko")
del expected[(REL_NEW, "kmp/kmp.ko")]
check(links() == expected, "a build for a newer kernel wins elsewhere; the kernel it was built for keeps its "
      "own (its weak link removed)", links())
calls = depmod_calls()
check(calls == sorted(["-a " + REL_NEW, "-a " + REL_SAME]), "depmod for both kernels whose links changed", calls)
install(KMP, REL_SAME, "kmp.ko", "updates")
r = wm("--add-modules", os.path.join(root, "lib/modules", REL_SAME, "updates/kmp.ko"))
del expected[(REL_SAME, "kmp/kmp.ko")]
check(links() == expected, "a kmp.ko in the kernel's updates/ is not shadowed by a weak link; user.ko still "
      "linked there, the kmp.ko of updates/ providing hello_world", links())
depmod_calls()
os.unlink(os.path.join(root, "lib/modules", REL_SAME, "updates/kmp.ko"))
os.unlink(kmp_new)
r = wm("--remove-modules", kmp_new, os.path.join(root, "lib/modules", REL_SAME, "updates/kmp.ko"))
expected = {(k, "kmp/kmp.ko"): img(REL_A, "kmp/kmp.ko") for k in (REL_SAME, REL_NEW)}
expected.update({(k, "user/user.ko"): img(REL_A, "user/user.ko") for k in (REL_SAME, REL_NEW)})
check(r.returncode == 0 and links() == expected, "those builds removed: A's build is linked again", (r.stderr, links()))
depmod_calls()

# a kmod goes: its links go, and those of the kmods that need it
os.unlink(kmp)
r = wm("--remove-modules", kmp)
expected = {}
check(r.returncode == 0 and links() == expected, "kmp.ko removed: its links and user.ko's (which needs it) are "
      "gone", (r.stderr, links()))
check(not os.path.exists(os.path.join(root, "lib/modules", REL_SAME, "weak-updates/kmp")),
      "the emptied directories in weak-updates/ are gone")
calls = depmod_calls()
check(calls == sorted(["-a " + REL_NEW, "-a " + REL_SAME]), "depmod once per kernel whose links changed", calls)

# a kernel goes
kmp = install(KMP, REL_A, "kmp/kmp.ko")
wm("--add-modules", kmp)
check(len(links()) == 4, "kmp.ko back: four links", links())
depmod_calls()
r = wm("--remove-kernel", REL_NEW)
check({k for k in links()} == {(REL_SAME, "kmp/kmp.ko"), (REL_SAME, "user/user.ko")},
      "--remove-kernel: its links are gone, the others stay", links())
check(depmod_calls() == [], "no depmod for a kernel being removed")
shutil.rmtree(os.path.join(root, "lib/modules", REL_SAME, "kernel"))
for f in ("modules.order", "symvers.gz"):
    os.unlink(os.path.join(root, "lib/modules", REL_SAME, f))
r = wm("--add-modules", stdin="")
check({k for k in links()} == {(REL_NEW, "kmp/kmp.ko"), (REL_NEW, "user/user.ko")},
      "a kernel whose files are gone keeps no weak links; the other kernel has its own back", links())
kernel(REL_SAME, symvers_lines)
kernel(REL_NEW, symvers_lines)
wm("--add-kernel", REL_SAME, REL_NEW)
check(len(links()) == 4, "both kernels back: four links", links())
depmod_calls()

# ==== bad input: each named, the rest done, nothing else touched
wu = os.path.join(root, "lib/modules", REL_SAME, "weak-updates")
os.symlink("../../%s/extra/gone/gone.ko" % REL_A, os.path.join(wu, "gone.ko"))
os.makedirs(os.path.join(root, "opt"))
open(os.path.join(root, "opt/foreign.ko"), "w").close()
os.symlink("/opt/foreign.ko", os.path.join(wu, "foreign.ko"))
os.symlink("/opt/nothing.ko", os.path.join(wu, "nothing.ko"))
open(os.path.join(wu, "README"), "w").close()
os.symlink("/opt", os.path.join(wu, "vendor"))  # a directory link leading out of the tree
vendor = install(KMP, REL_A, "vendor/vendor.ko")
bad = install(KMP, REL_A, "bad/bad.ko")
with open(bad, "wb") as f:
    f.write(b"\x7fELF garbage")
odd = install(KMP, REL_A, "a b/$(touch pwned);`x` 'q'.ko")
with gzip.open(os.path.join(root, "lib/modules", REL_CRC, "symvers.gz"), "wb") as f:
    f.write(b"0xnothex\tsym\n")
nokernel = os.path.join(root, "lib/modules/6.1.0-99-amd64")
os.makedirs(os.path.join(nokernel, "kernel"))
r = wm("--add-modules", bad, odd, vendor)
err = r.stderr
check(r.returncode == 1, "bad input: exit status 1", r.returncode)
check(os.path.realpath(bad) in err, "the unreadable module is named", err)
check(os.path.join(root, "usr/lib/modules", REL_CRC, "symvers.gz") in err, "the damaged symvers is named", err)
check(os.path.join(os.path.realpath(wu), "foreign.ko") in err and "outside" in err, "the link outside /lib/modules is named", err)
check(os.path.join(os.path.realpath(wu), "nothing.ko") in err and "does not exist" in err, "the dangling foreign link is named", err)
odd_link = (REL_SAME, "a b/$(touch pwned);`x` 'q'.ko")
have = links()
check(have.get(odd_link) == img(REL_A, odd_link[1]) and (REL_NEW, odd_link[1]) in have,
      "the module with spaces and shell syntax in its path is linked", have)
check(not any(k[1].startswith("bad") for k in have), "the unreadable module is linked nowhere", have)
check((REL_SAME, "gone.ko") not in have, "the dangling link of ours is removed", have)
check(os.path.islink(os.path.join(wu, "foreign.ko")) and os.path.islink(os.path.join(wu, "nothing.ko")) and
      os.path.exists(os.path.join(wu, "README")), "links outside /lib/modules and other files are untouched")
check(os.path.join(os.path.realpath(wu), "vendor") in err and not os.path.exists(os.path.join(root, "opt/vendor.ko"))
      and (REL_NEW, "vendor/vendor.ko") in have, "a foreign directory link in weak-updates/ is named, nothing made "
      "through it; the other kernel gets the module", (err, have))
check(not os.path.exists("pwned") and not os.path.exists(os.path.join(root, "pwned")), "no shell ran the path")
r = wm("--add-kernel", "6.1.0-99-amd64")
check(r.returncode == 1 and nokernel in r.stderr and "modules.order" in r.stderr,
      "a kernel directory without modules.order (and symvers) is named", r.stderr)
os.unlink(os.path.join(root, "lib/modules", REL_SAME, "symvers.gz"))
r = wm("--add-kernel", REL_SAME)
check(r.returncode == 1 and "no symvers" in r.stderr and os.path.join(root, "usr/lib/modules", REL_SAME) in r.stderr,
      "a kernel without symvers is named", r.stderr)
check(have == links(), "without symvers, nothing is decided: the links stay", links())
r = wm("--add-modules", "/tmp/x.ko")
check(r.returncode == 1 and "/tmp/x.ko" in r.stderr, "a module outside /lib/modules is refused by name", r.stderr)
r = wm("--frobnicate")
check(r.returncode == 2 and "--frobnicate" in r.stderr, "an unknown option: exit 2", r.stderr)
r = wm("--help")
check(r.returncode == 0 and "--add-modules" in r.stdout and "--root" in r.stdout, "--help")

# ==== where kernels keep their reference: /boot, or Debian's headers
kernel(REL_SAME, symvers_lines)  # its symvers back
REL_BOOT, REL_DEB = "6.1.0-90-amd64", "6.1.0-91-amd64"
kernel(REL_BOOT)
with gzip.open(os.path.join(root, "boot", "symvers-%s.gz" % REL_BOOT), "wt") as f:
    f.write("\n".join(symvers_lines) + "\n")
kernel(REL_DEB)
headers = os.path.join(root, "usr/src/linux-headers-" + REL_DEB)
os.makedirs(headers)
shutil.copy(real_symvers, headers)
os.symlink("/usr/src/linux-headers-" + REL_DEB, os.path.join(root, "lib/modules", REL_DEB, "build"))
r = wm("--add-kernel", REL_BOOT, REL_DEB)
have = links()
check(all((rel, sub) in have for rel in (REL_BOOT, REL_DEB) for sub in ("kmp/kmp.ko", "user/user.ko")),
      "references in /boot/symvers-R.gz and (Debian) build/Module.symvers, the build link absolute inside "
      "the image", (r.stderr, sorted(have)))

# ==== RHEL's weak-modules on the same root
def rhel(base, *args, stdin=None):
    return subprocess.run(["bash", rhel_wm, "--basedir", base, "--no-initramfs", "--dracut", "/bin/true"] + list(args),
                          input=stdin, capture_output=True, text=True)


if not os.path.exists(rhel_wm):
    check(False, "RHEL's weak-modules is at %s" % rhel_wm)
else:
    make_root()
    kmp = install(KMP, REL_A, "kmp/kmp.ko")
    user = install(USER, REL_A, "user/user.ko")
    twin = os.path.join(top, "twin")
    shutil.copytree(root, twin, symlinks=True)
    ours = wm("--add-modules", kmp, user)
    theirs = rhel(twin, "--add-modules", stdin="%s\n%s\n" % (kmp.replace(root, twin), user.replace(root, twin)))
    check(ours.returncode == 0, "ours: --add-modules", ours.stderr)
    check(theirs.returncode == 0, "RHEL's: --add-modules", theirs.stdout + theirs.stderr)
    mine, rh = links(), links(twin)

    def decisions(ls):
        return {k for k in ls}

    right = {k for k in decisions(rh) if k[0] not in (REL_SIZE, REL_FLAGS)}
    check(right == decisions(mine), "the same decisions as RHEL's for the kernels it decides right "
          "(same ABI, changed CRC, no CRCs, the dependent kmod)", (sorted(rh), sorted(mine)))
    check({(REL_SIZE, "kmp/kmp.ko"), (REL_FLAGS, "kmp/kmp.ko")} <= decisions(rh),
          "RHEL's links kmp.ko into the kernel of another struct module size and other vermagic flags", sorted(rh))
    check(not any(k[0] in (REL_SIZE, REL_FLAGS) for k in mine), "ours does not", sorted(mine))
    host = [t for t in rh.values() if t.startswith(twin)]
    check(host and len(host) == len(rh), "RHEL's --basedir writes the root's host path into its links: they "
          "dangle inside the image", sorted(rh.values()))

    # a kernel arrives: RHEL's --add-kernel decides it right
    kernel(REL_NEW, symvers_lines)
    shutil.copytree(os.path.join(root, "usr/lib/modules", REL_NEW), os.path.join(twin, "usr/lib/modules", REL_NEW),
                    symlinks=True)
    ours = wm("--add-kernel", REL_NEW)
    theirs = rhel(twin, "--add-kernel", REL_NEW)
    new_mine = {k for k in links() if k[0] == REL_NEW}
    new_rh = {k for k in links(twin) if k[0] == REL_NEW}
    check(ours.returncode == 0 and theirs.returncode == 0 and new_mine == new_rh ==
          {(REL_NEW, "kmp/kmp.ko"), (REL_NEW, "user/user.ko")}, "--add-kernel: the same links as RHEL's",
          (theirs.stdout + theirs.stderr, sorted(new_rh), sorted(new_mine)))

    # a kmod goes: its links and those of the kmod needing it, on both
    os.unlink(kmp)
    os.unlink(kmp.replace(root, twin))
    ours = wm("--remove-modules", kmp)
    theirs = rhel(twin, "--remove-modules", stdin=kmp.replace(root, twin) + "\n")
    check(ours.returncode == 0 and links() == {}, "ours: kmp.ko removed, no links left", links())
    left = {k for k in decisions(links(twin)) if k[0] not in (REL_SIZE, REL_FLAGS)}
    check(theirs.returncode == 0 and left == set(), "RHEL's removes the same links (it is right there too)",
          (theirs.stdout + theirs.stderr, sorted(links(twin))))

    # ours on RHEL's links: the wrong ones removed, the host paths made relative
    shutil.copy(KMP, kmp)
    shutil.copy(KMP, kmp.replace(root, twin))
    for base in (twin,):
        for k in list(links(base)):
            os.unlink(os.path.join(base, "usr/lib/modules", k[0], "weak-updates", k[1]))
    rhel(twin, "--add-modules", stdin="%s\n%s\n" % (kmp.replace(root, twin), user.replace(root, twin)))
    wm("--add-modules", kmp)
    broken = links(twin)
    check((REL_SIZE, "kmp/kmp.ko") in broken and all(t.startswith(twin) for t in broken.values()),
          "RHEL's links again, with host paths", sorted(broken.items()))
    ours_twin = wm("--add-modules", kmp.replace(root, twin), base=twin)
    check(decisions(links(twin)) == decisions(links()) and
          not [t for t in links(twin).values() if t.startswith(twin)],
          "ours on RHEL's result: its wrong links removed, its host-path links made relative",
          (ours_twin.stdout, ours_twin.stderr, sorted(links(twin).items())))

shutil.rmtree(top)
check.finish()
