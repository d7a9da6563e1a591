#!/usr/bin/python3
"""The layer check: no file under src/ includes a header of a folder above
its own. The order is written once, in docs/architecture.md, as the table
between the markers <!-- layers --> and <!-- /layers -->: one row per
folder, lowest first, with the public headers (include/hamrf/) that belong
to it. A folder may include its own headers and those of the folders below
it; a private header "folder/x.h" belongs to src/folder/.

    check_layers.py [ROOT]          exit 0 when clean, 1 listing violations
    check_layers.py --self-test     also shows that a planted violation fails
"""
import os
import re
import shutil
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_layers(root):
    text = open(os.path.join(root, 'docs', 'architecture.md'), encoding='utf-8').read()
    m = re.search(r'<!-- layers -->(.*?)<!-- /layers -->', text, re.S)
    if not m:
        sys.exit('check_layers: docs/architecture.md has no <!-- layers --> table')
    rank, owner = {}, {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) < 3 or not cells[0].isdigit():
            continue
        folder = cells[1].strip('`')
        rank[folder] = int(cells[0])
        for h in re.findall(r'[\w]+\.h', cells[2]):
            owner['hamrf/' + h] = folder
    return rank, owner


def check(root):
    rank, owner = read_layers(root)
    errors = []
    src = os.path.join(root, 'src')
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            continue
        if folder not in rank:
            errors.append('src/%s/ is not in the layer table of docs/architecture.md' % folder)
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith(('.c', '.h')):
                continue
            text = open(os.path.join(path, name), encoding='utf-8').read()
            for inc in INCLUDE.findall(text):
                if inc.startswith('hamrf/'):
                    target = owner.get(inc)
                    if target is None:
                        errors.append('src/%s/%s includes "%s", which is in no layer '
                                      '(docs/architecture.md)' % (folder, name, inc))
                        continue
                else:
                    target = inc.split('/')[0] if '/' in inc else folder
                if target not in rank:
                    continue
                if rank[target] > rank[folder]:
                    errors.append('src/%s/%s includes "%s" of %s (layer %d) above %s (layer %d)' %
                                  (folder, name, inc, target, rank[target], folder, rank[folder]))
    # every public header must be in the table
    for h in sorted(os.listdir(os.path.join(root, 'include', 'hamrf'))):
        key = 'hamrf/' + (h[:-3] if h.endswith('.h.in') else h)
        if key.endswith('.h') and key not in owner:
            errors.append('include/%s is in no layer (docs/architecture.md)' % key)
    # public headers: a header may include only headers of its layer or below
    for key, folder in sorted(owner.items()):
        p = os.path.join(root, 'include', key)
        if not os.path.exists(p):
            p += '.in'
            if not os.path.exists(p):
                errors.append('docs/architecture.md lists %s, which does not exist' % key)
                continue
        for inc in INCLUDE.findall(open(p, encoding='utf-8').read()):
            t = owner.get(inc)
            if t is not None and rank[t] > rank[folder]:
                errors.append('include/%s (%s) includes %s of %s above it' % (key, folder, inc, t))
    return errors


def main():
    args = [a for a in sys.argv[1:] if a != '--self-test']
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), '..'))
    errors = check(root)
    for e in errors:
        print('check_layers: ' + e)
    if errors:
        print('0 passed, 1 failed')
        return 1
    if '--self-test' in sys.argv:
        # A planted violation: the lowest layer including the highest must fail.
        rank, _ = read_layers(root)
        low = min(rank, key=rank.get)
        high = max(rank, key=rank.get)
        tmp = tempfile.mkdtemp()
        try:
            for d in ('src', 'include', 'docs'):
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
            victim = sorted(f for f in os.listdir(os.path.join(tmp, 'src', low)) if f.endswith('.c'))[0]
            with open(os.path.join(tmp, 'src', low, victim), 'a') as f:
                f.write('\n#include "%s/planted.h"\n' % high)
            planted = check(tmp)
        finally:
            shutil.rmtree(tmp)
        if not any('planted.h' in e for e in planted):
            print('check_layers: the planted violation (src/%s/%s including %s/) was not found'
                  % (low, victim, high))
            print('1 passed, 1 failed')
            return 1
        print('check_layers: planted violation src/%s/%s -> %s/ detected' % (low, victim, high))
        print('check_layers: %d folders in order, no include goes up; 2 passed, 0 failed' % len(rank))
        return 0
    print('check_layers: no include goes up; 1 passed, 0 failed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
