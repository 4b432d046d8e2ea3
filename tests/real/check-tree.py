#!/usr/bin/env python3
"""Check `kabi-deps dump --json` against a real kernel module tree.

    check-tree.py [--deps] MODDIR SYMVERS KABI_DEPS

For every module file (*.ko, *.ko.xz, *.ko.zst, *.ko.gz) under MODDIR:

- the ELF class, byte order and machine agree with the file's own ELF header,
  and the release agrees with the first word of its vermagic;
- every export agrees with SYMVERS (Module.symvers): CRC, module column (the
  module's path below MODDIR/kernel without .ko*), EXPORT_SYMBOL_GPL, namespace;
  every SYMVERS row of a module other than vmlinux is among the exports;
- the imports agree with `modprobe --dump-modversions` (run on a decompressed
  copy when libkmod cannot open the file); for a kernel without modversions
  (every CRC in SYMVERS 0), with the module's undefined symbols (`nm`), and
  exports and imports carry no CRC.

With --deps, also runs `KABI_DEPS requires --multifile --symvers SYMVERS` and
`KABI_DEPS provides --multifile` over the whole tree in one batch and checks
that each module requires exactly `kernel(SYM) = CRC` (SYM listed in SYMVERS)
or `ksym(SYM) = CRC` (not listed) for every import that no module of the tree
exports, and provides `kernel(SYM) = CRC` (module under /lib/modules/RELEASE/
kernel/) or `ksym(SYM) = CRC` for every export.  Without modversions each
module requires `kernel-uname-r = RELEASE` once, and `ksym(SYM)` for imports
that neither SYMVERS nor the tree exports.

Prints `N modules, E exports, I imports checked: M mismatches`; exit status 0
when M is 0, 1 otherwise (the first --max-report mismatches are listed), 2 on
usage or environment errors.
"""

import argparse
import concurrent.futures
import gzip
import json
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from kabitest import uname_r  # noqa: E402

MODULE_SUFFIXES = ('.ko', '.ko.xz', '.ko.zst', '.ko.gz')
GPL_TYPES = ('EXPORT_SYMBOL_GPL', 'EXPORT_UNUSED_SYMBOL_GPL')
DEP_RE = re.compile(r'^(kernel|ksym)\((.+)\)(?: = (0x[0-9a-fA-F]+))?$')


def die(msg):
    print('check-tree.py: ' + msg, file=sys.stderr)
    sys.exit(2)


class Mismatches:
    def __init__(self):
        self.items = []

    def add(self, module, symbol, what, expected=None, got=None):
        msg = '%s: %s: %s' % (module, symbol if symbol is not None else '-', what)
        if expected is not None or got is not None:
            msg += ': expected %s, got %s' % (expected, got)
        self.items.append(msg)

    def __len__(self):
        return len(self.items)


# ---------------------------------------------------------------- input

def find_modules(moddir):
    paths = []
    for root, dirs, files in os.walk(moddir):
        dirs.sort()
        for f in sorted(files):
            if f.endswith(MODULE_SUFFIXES):
                paths.append(os.path.join(root, f))
    return paths


def strip_suffix(path):
    for s in sorted(MODULE_SUFFIXES, key=len, reverse=True):
        if path.endswith(s):
            return path[:-len(s)]
    return path


def symvers_module(moddir, path):
    """Module.symvers' module column for an installed module path."""
    rel = os.path.relpath(path, moddir)
    if rel.startswith('kernel/'):
        rel = rel[len('kernel/'):]
    return strip_suffix(rel)


def open_text(path):
    with open(path, 'rb') as f:
        magic = f.read(6)
    if magic[:2] == b'\x1f\x8b':
        return gzip.open(path, 'rt')
    if magic == b'\xfd7zXZ\x00':
        return lzma.open(path, 'rt')
    return open(path, 'r')


def read_symvers(path):
    """{symbol: (crc int, module, export type, namespace or None)}, duplicates."""
    rows = {}
    dups = []
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line:
                continue
            fields = line.split('\t')
            ns = None
            if len(fields) == 3:
                crc, sym, mod = fields
                typ = 'EXPORT_SYMBOL'
            elif len(fields) == 4:
                crc, sym, mod, typ = fields
            elif len(fields) == 5 and not fields[3].startswith('EXPORT_'):
                # 5.4 - 5.6-rc6: crc, symbol, namespace, module, type
                crc, sym, ns, mod, typ = fields
            elif len(fields) == 5:
                crc, sym, mod, typ, ns = fields
            else:
                die('%s:%d: cannot parse %r' % (path, lineno, line))
            row = (int(crc, 16) & 0xffffffff, mod, typ, ns or None)
            if sym in rows:
                dups.append((sym, rows[sym], row))
            rows[sym] = row
    return rows, dups


# ---------------------------------------------------------------- module files

def zstd_decompress(path):
    try:
        import zstandard  # noqa: F401 (optional)
        with open(path, 'rb') as f:
            return zstandard.ZstdDecompressor().stream_reader(f).read()
    except ImportError:
        pass
    zstd = shutil.which('zstd')
    if not zstd:
        raise RuntimeError('no zstd decompressor (python zstandard or zstd(1))')
    return subprocess.run([zstd, '-dcq', path], check=True, stdout=subprocess.PIPE).stdout


def decompress(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:2] == b'\x1f\x8b':
        return gzip.decompress(data)
    if data[:6] == b'\xfd7zXZ\x00':
        return lzma.decompress(data)
    if data[:4] == b'\x28\xb5\x2f\xfd':
        return zstd_decompress(path)
    return data


def elf_header(path):
    """(class, endian, machine) from the ELF header, or an error string."""
    with open(path, 'rb') as f:
        data = f.read(1 << 16)
    try:
        if data[:2] == b'\x1f\x8b':
            data = zlib.decompressobj(wbits=31).decompress(data, 64)
        elif data[:6] == b'\xfd7zXZ\x00':
            data = lzma.LZMADecompressor().decompress(data, max_length=64)
        elif data[:4] == b'\x28\xb5\x2f\xfd':
            data = zstd_decompress(path)[:64]
    except Exception as e:  # noqa: BLE001
        return 'cannot decompress: %s' % e
    if len(data) < 20 or data[:4] != b'\x7fELF':
        return 'not ELF'
    cls = {1: 32, 2: 64}.get(data[4])
    endian = {1: 'little', 2: 'big'}.get(data[5])
    if cls is None or endian is None:
        return 'bad e_ident'
    machine = int.from_bytes(data[18:20], endian)
    return cls, endian, machine


def modprobe_versions(modprobe, path):
    """[(name, crc)] from modprobe --dump-modversions, or raise RuntimeError."""
    def run(p):
        return subprocess.run([modprobe, '--dump-modversions', p], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def parse(out):
        res = []
        for line in out.splitlines():
            crc, _, name = line.partition('\t')
            res.append((name, int(crc, 16) & 0xffffffff))
        return res

    r = run(path)
    if r.returncode == 0:
        return parse(r.stdout)
    compressed = not path.endswith('.ko')
    if compressed:
        # libkmod may be built without this decompressor: give it plain ELF
        with tempfile.NamedTemporaryFile(suffix='.ko') as tmp:
            tmp.write(decompress(path))
            tmp.flush()
            r = run(tmp.name)
        if r.returncode == 0:
            return parse(r.stdout)
    if 'No such file or directory' in r.stderr:
        return []  # no __versions section
    raise RuntimeError('modprobe --dump-modversions failed: ' + r.stderr.strip())


# What the linker or the architecture resolves: no import (as modpost has it).
LINKER_SYMBOLS = ('_GLOBAL_OFFSET_TABLE_', '__this_module')


def undefined_symbols(path):
    """[(name, None)] of the global undefined symbols in symbol table order (nm -u -p,
    weak ones left out)."""
    with tempfile.NamedTemporaryFile(suffix='.ko') as tmp:
        tmp.write(decompress(path))
        tmp.flush()
        r = subprocess.run(['nm', '-u', '-P', '-p', tmp.name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    if r.returncode:
        raise RuntimeError('nm -u failed: ' + r.stderr.strip())
    res = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 2 and f[1] == 'U' and f[0] not in LINKER_SYMBOLS:
            res.append((f[0], None))
    return res


def dump_json(kabi_deps, paths, chunk, bad):
    """{path: object} from `kabi_deps dump --json`, chunk paths per run."""
    result = {}
    for i in range(0, len(paths), chunk):
        batch = paths[i:i + chunk]
        r = subprocess.run([kabi_deps, 'dump', '--json'] + batch, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        try:
            objs = json.loads(r.stdout)
        except ValueError as e:
            bad.add('(dump of %d files from %s)' % (len(batch), batch[0]), None,
                    'output is not JSON: %s; exit %d; stderr: %s' % (e, r.returncode, r.stderr.strip()[:500]))
            continue
        if not isinstance(objs, list):
            bad.add('(dump)', None, 'output is not a JSON array')
            continue
        given = set(batch)
        for o in objs:
            p = o.get('path')
            if p not in given:
                bad.add(p, None, 'dump printed a path that was not given')
            elif p in result:
                bad.add(p, None, 'dump printed the path twice')
            else:
                result[p] = o
        missing = [p for p in batch if p not in result]
        for p in missing:
            why = [ln for ln in r.stderr.splitlines() if p in ln]
            bad.add(p, None, 'dump left the file out: %s' % ('; '.join(why) or '(nothing on stderr)'))
        if missing and r.returncode == 0:
            bad.add('(dump)', None, 'exit status 0 although %d files were left out' % len(missing))
        if not missing and r.returncode != 0:
            bad.add('(dump)', None, 'exit status %d with every file dumped; stderr: %s'
                    % (r.returncode, r.stderr.strip()[:500]))
    return result


def crc_str(crc):
    return 'null' if crc is None else '0x%08x' % crc


def parse_crc(s):
    if s is None:
        return None
    if not isinstance(s, str) or not re.fullmatch(r'0x[0-9a-f]{8}', s):
        raise ValueError('bad crc %r' % (s,))
    return int(s, 16)


def run_multifile(cmd):
    """{path: [lines]} from a --multifile run."""
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    cur = None
    for line in r.stdout.splitlines():
        if line.startswith(';'):
            cur = out.setdefault(line[1:], [])
        elif cur is None:
            out.setdefault(None, []).append(line)
        else:
            cur.append(line)
    return r, out


# ---------------------------------------------------------------- checks

def check_exports(moddir, symvers, dumps, bad, stats, crcless):
    seen = {}  # (symbol) -> module column of the exporting module
    for path, o in dumps.items():
        mod = symvers_module(moddir, path)
        names = set()
        for e in o.get('exports', []):
            name = e.get('name')
            stats['exports'] += 1
            if name in names:
                bad.add(mod, name, 'exported twice by the module')
                continue
            names.add(name)
            if name in seen:
                bad.add(mod, name, 'also exported by %s' % seen[name])
            seen[name] = mod
            row = symvers.get(name)
            if row is None:
                bad.add(mod, name, 'export not in Module.symvers')
                continue
            scrc, smod, styp, sns = row
            try:
                crc = parse_crc(e.get('crc'))
            except ValueError as ex:
                bad.add(mod, name, str(ex))
                continue
            if crc != (None if crcless else scrc):
                bad.add(mod, name, 'export crc', crc_str(None if crcless else scrc), crc_str(crc))
            if smod != mod:
                bad.add(mod, name, 'Module.symvers module column', smod, mod)
            gpl = styp in GPL_TYPES
            if e.get('gpl') is not gpl:
                bad.add(mod, name, 'gpl (%s)' % styp, gpl, e.get('gpl'))
            if e.get('namespace') != sns:
                bad.add(mod, name, 'namespace', sns, e.get('namespace'))
    for name, (scrc, smod, styp, sns) in sorted(symvers.items()):
        if smod != 'vmlinux' and seen.get(name) != smod:
            bad.add(smod, name, 'Module.symvers row missing from the exports (%s %s)'
                    % (crc_str(scrc), styp))
    return seen


def check_header(moddir, path, o, bad, release):
    mod = symvers_module(moddir, path)
    hdr = elf_header(path)
    if isinstance(hdr, str):
        bad.add(mod, None, 'check-tree cannot read the ELF header: ' + hdr)
    else:
        for k, v in zip(('class', 'endian', 'machine'), hdr):
            if o.get(k) != v:
                bad.add(mod, None, k, v, o.get(k))
    if o.get('release') != release:
        bad.add(mod, None, 'release (first word of vermagic)', release, o.get('release'))


def vermagic_release(o):
    for kv in o.get('modinfo', []):
        if len(kv) == 2 and kv[0] == 'vermagic':
            w = kv[1].split()
            return w[0] if w else None
    return None


def check_imports(moddir, modprobe, dumps, bad, stats, jobs, crcless):
    expected = {}

    def one(path):
        try:
            if crcless:
                return path, undefined_symbols(path), None
            return path, modprobe_versions(modprobe, path), None
        except Exception as e:  # noqa: BLE001
            return path, None, str(e)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for path, vers, err in ex.map(one, sorted(dumps)):
            mod = symvers_module(moddir, path)
            if err:
                bad.add(mod, None, err)
                continue
            expected[path] = vers
            try:
                got = [(i.get('name'), parse_crc(i.get('crc'))) for i in dumps[path].get('imports', [])]
            except ValueError as e:
                bad.add(mod, None, 'import: %s' % e)
                continue
            stats['imports'] += len(vers)
            if got == vers:
                continue
            if sorted(got, key=str) == sorted(vers, key=str):
                stats['import order differs'] += 1  # not part of the contract
                continue
            want = {}
            for n, c in vers:
                want.setdefault(n, []).append(c)
            have = {}
            for n, c in got:
                have.setdefault(n, []).append(c)
            for n in sorted(set(want) | set(have)):
                w, h = want.get(n), have.get(n)
                if w is None:
                    bad.add(mod, n, 'import not in %s' % ('nm -u' if crcless else '__versions'), None,
                            ' '.join(map(crc_str, h)))
                elif h is None:
                    bad.add(mod, n, 'import missing', ' '.join(map(crc_str, w)), None)
                elif sorted(w) != sorted(h):
                    bad.add(mod, n, 'import crc', ' '.join(map(crc_str, w)), ' '.join(map(crc_str, h)))
    return expected


def compare_lines(mod, kind, want, have, bad):
    """want/have: {symbol: line}; lines other than kernel()/ksym() ignored."""
    for sym in sorted(set(want) | set(have)):
        w, h = want.get(sym), have.get(sym)
        if w == h:
            continue
        if w is None:
            bad.add(mod, sym, 'unexpected %s' % kind, None, repr(h))
        else:
            bad.add(mod, sym, kind, repr(w), repr(h) if h is not None else None)


def dep_lines(mod, kind, lines, bad):
    res = {}
    other = 0
    for line in lines:
        m = DEP_RE.match(line)
        if not m:
            other += 1
            continue
        sym = m.group(2)
        if sym in res:
            bad.add(mod, sym, '%s twice' % kind, None, '%r and %r' % (res[sym], line))
        res[sym] = line
    return res, other


def check_deps(moddir, symvers_path, symvers, kabi_deps, dumps, imports, tree_exports, bad, stats, crcless):
    paths = sorted(dumps)
    r, req = run_multifile([kabi_deps, 'requires', '--multifile', '--symvers', symvers_path] + paths)
    if r.returncode != 0:
        bad.add('(requires)', None, 'exit status %d: %s' % (r.returncode, r.stderr.strip()[:500]))
    if None in req:
        bad.add('(requires)', None, 'lines before the first ;PATH: %r' % req[None][:3])
    for p in set(req) - set(paths) - {None}:
        bad.add('(requires)', None, 'section for a path that was not given: %r' % p)
    for path in paths:
        mod = symvers_module(moddir, path)
        if path not in imports:
            continue
        want = {}
        for name, crc in imports[path]:
            if name in tree_exports:
                continue
            if crcless:
                if name not in symvers:
                    want[name] = 'ksym(%s)' % name
                continue
            prefix = 'kernel' if name in symvers else 'ksym'
            want[name] = '%s(%s) = %s' % (prefix, name, crc_str(crc))
        if crcless:
            release = dumps[path].get('release')
            n = req.get(path, []).count(uname_r(release))
            stats['release requires'] += n
            if n != 1:
                bad.add(mod, None, 'requires %r %d times' % (uname_r(release), n))
        have, other = dep_lines(mod, 'requires', req.get(path, []), bad)
        stats['requires'] += len(want)
        stats['other requires'] += other
        compare_lines(mod, 'requires', want, have, bad)

    r, prov = run_multifile([kabi_deps, 'provides', '--multifile'] + paths)
    if r.returncode != 0:
        bad.add('(provides)', None, 'exit status %d: %s' % (r.returncode, r.stderr.strip()[:500]))
    for path in paths:
        o = dumps[path]
        mod = symvers_module(moddir, path)
        kernel = '/lib/modules/%s/kernel/' % o.get('release') in path
        want = {}
        for e in o.get('exports', []):
            crc = e.get('crc')
            line = '%s(%s)' % ('kernel' if kernel else 'ksym', e.get('name'))
            want[e.get('name')] = line + (' = ' + crc if crc else '')
        have, other = dep_lines(mod, 'provides', prov.get(path, []), bad)
        stats['provides'] += len(want)
        stats['other provides'] += other
        compare_lines(mod, 'provides', want, have, bad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('moddir')
    ap.add_argument('symvers')
    ap.add_argument('kabi_deps')
    ap.add_argument('--deps', action='store_true', help='also check requires/provides --multifile')
    ap.add_argument('--modprobe', default=None, help='modprobe to dump __versions with')
    ap.add_argument('--chunk', type=int, default=500, help='paths per dump run (500)')
    ap.add_argument('--max-report', type=int, default=20, help='mismatches to list (20)')
    ap.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    modprobe = args.modprobe or shutil.which('modprobe') or (
        '/usr/sbin/modprobe' if os.access('/usr/sbin/modprobe', os.X_OK) else
        '/sbin/modprobe' if os.access('/sbin/modprobe', os.X_OK) else None)
    if not modprobe:
        die('modprobe not found (--modprobe)')
    if not os.path.isdir(args.moddir):
        die('%s: not a directory' % args.moddir)
    moddir = os.path.normpath(args.moddir)
    release = os.path.basename(moddir)

    paths = find_modules(moddir)
    if not paths:
        die('%s: no modules' % moddir)
    symvers, dups = read_symvers(args.symvers)
    bad = Mismatches()
    for sym, a, b in dups:
        bad.add('(Module.symvers)', sym, 'listed twice', a, b)
    stats = dict.fromkeys(('exports', 'imports', 'requires', 'other requires', 'release requires',
                           'provides', 'other provides', 'import order differs'), 0)
    # a kernel without modversions writes 0 for every CRC
    crcless = not any(row[0] for row in symvers.values())

    dumps = dump_json(args.kabi_deps, paths, args.chunk, bad)
    for path, o in dumps.items():
        check_header(moddir, path, o, bad, release)
        vr = vermagic_release(o)
        if vr != o.get('release'):
            bad.add(symvers_module(moddir, path), None, 'release vs modinfo vermagic', vr, o.get('release'))
    tree_exports = check_exports(moddir, symvers, dumps, bad, stats, crcless)
    imports = check_imports(moddir, modprobe, dumps, bad, stats, args.jobs, crcless)
    if args.deps:
        check_deps(moddir, args.symvers, symvers, args.kabi_deps, dumps, imports, tree_exports, bad, stats,
                   crcless)

    kinds = {}
    for p in paths:
        k = p[p.rindex('.ko'):]
        kinds[k] = kinds.get(k, 0) + 1
    print('%s: %s%s' % (moddir, ', '.join('%d %s' % (n, k) for k, n in sorted(kinds.items())),
                        ' (no modversions)' if crcless else ''))
    if crcless and args.deps:
        print('release requires: %d of %d modules' % (stats['release requires'], len(paths)))
    if args.deps:
        print('requires: %d kernel()/ksym() lines expected, %d other lines; provides: %d expected, %d other'
              % (stats['requires'], stats['other requires'], stats['provides'], stats['other provides']))
    if stats['import order differs']:
        print('note: %d modules list their imports in another order than __versions'
              % stats['import order differs'])
    print('%d modules, %d exports, %d imports checked: %d mismatches'
          % (len(paths), stats['exports'], stats['imports'], len(bad)))
    if bad.items:
        for m in bad.items[:args.max_report]:
            print('  ' + m)
        if len(bad) > args.max_report:
            print('  ... and %d more' % (len(bad) - args.max_report))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
