#!/usr/bin/env python3
"""Every place the sources cite the project's documents names a real one:
doc/FILE.md exists, and doc/FILE.md, "Heading" is one of its headings.  A
bare FILE.md or a "section N" (documents outside the project) is refused.
    test-doc-refs.py SOURCE_ROOT"""
import os
import re
import subprocess
import sys

src = sys.argv[1]
os.chdir(src)
try:
    files = subprocess.run(['git', 'ls-files'], check=True, capture_output=True, text=True).stdout.split()
except (OSError, subprocess.CalledProcessError):
    files = [os.path.join(d, f)[2:] for d, _, fs in os.walk('.') if '/.git' not in d for f in fs]
files = [f for f in files if f != 'tests/doc/test-doc-refs.py' and f.endswith(('.c', '.h', '.py', '.sh', '.in', '.build', '.attr', '.spec', '.lua'))
         or f in ('README', 'dev') or f.startswith('macros.d/')]

headings = {}
for name in os.listdir('doc'):
    if name.endswith('.md'):
        with open(os.path.join('doc', name), encoding='utf-8') as f:
            headings[name] = {line.lstrip('#').strip() for line in f if line.startswith('#')}

bad = []
cited = 0
for path in files:
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
        continue
    # comments wrap: join the lines, without their comment leaders
    flat = re.sub(r'\s*\n\s*(?:\*(?!/)|#|//|--)?\s*', ' ', text)
    for m in re.finditer(r'(?<![\w/.-])(doc/)?([\w-]+)\.md\b(,\s*"([^"]+)")?(\s+section\s+\d+)?', flat):
        prefix, name, _, heading, section = m.groups()
        name += '.md'
        if name == 'README.md':
            continue
        cited += 1
        if not prefix:
            bad.append(f'{path}: {m.group(0)!r}: not doc/{name}')
        elif name not in headings:
            bad.append(f'{path}: {m.group(0)!r}: no such document')
        elif section:
            bad.append(f'{path}: {m.group(0)!r}: cite a heading ("...") not a section number')
        elif heading and heading not in headings[name]:
            bad.append(f'{path}: {m.group(0)!r}: doc/{name} has no heading "{heading}"')
for b in bad:
    print(b)
print(f'{cited} citations of doc/ in {len(files)} files, {len(bad)} wrong')
sys.exit(1 if bad else 0)
