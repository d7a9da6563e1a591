#!/usr/bin/python3
"""Adds HRF_API to every top-level function and object declaration of the
public headers (include/hamrf/*.h) that lacks it, the `extern "C"` guards
and the include of hamrf/export.h. Idempotent. Used once when the export
macro was introduced; kept for headers added later (tests/check_api.sh
checks the result)."""
import re
import sys

DECL = re.compile(r'^(?!static\b|typedef\b|struct\b|enum\b|union\b|#|HRF_API\b|extern "C")'
                  r'(extern\s+)?(const\s+)?[A-Za-z_][\w\s\*]*?\bhrf_\w+\s*(\(|;|\[|,)')


def process(text):
    out, depth, in_comment, cont = [], 0, False, False
    for line in text.split('\n'):
        code = line
        if in_comment:
            if '*/' in line:
                in_comment = False
                code = line.split('*/', 1)[1]
            else:
                out.append(line)
                continue
        stripped = re.sub(r'/\*.*?\*/', '', code)
        if '/*' in stripped:
            in_comment = True
            stripped = stripped.split('/*', 1)[0]
        if depth == 0 and not cont and DECL.match(line):
            line = 'HRF_API ' + line
        if not stripped.startswith('extern "C"') and stripped.strip() != '}':
            depth += stripped.count('{') - stripped.count('}')
        st = stripped.strip()
        if depth == 0 and st and not st.startswith('#'):
            cont = not (st.endswith(';') or st.endswith('}') or st.endswith('{') or st.endswith('*/'))
        out.append(line)
    text = '\n'.join(out)
    if 'extern "C"' not in text:
        # guards after the last top-level #include (or the include guard), before #endif
        lines = text.split('\n')
        last_inc = max((i for i, l in enumerate(lines) if l.startswith('#include')), default=None)
        if last_inc is None:
            last_inc = next(i for i, l in enumerate(lines) if l.startswith('#define HAMRF_'))
        end = max(i for i, l in enumerate(lines) if l.startswith('#endif'))
        lines[end:end] = ['#ifdef __cplusplus', '}', '#endif', '']
        lines[last_inc + 1:last_inc + 1] = ['', '#ifdef __cplusplus', 'extern "C" {', '#endif']
        text = '\n'.join(lines)
    if '#include "hamrf/export.h"' not in text and 'HRF_API' in text:
        lines = text.split('\n')
        i = next(i for i, l in enumerate(lines) if l.startswith('#define HAMRF_'))
        lines[i + 1:i + 1] = ['', '#include "hamrf/export.h"']
        text = '\n'.join(lines)
    text = re.sub(r'\n{3,}', '\n\n', text)
    return text


for path in sys.argv[1:]:
    with open(path) as f:
        old = f.read()
    new = process(old)
    if new != old:
        with open(path, 'w') as f:
            f.write(new)
