#!/usr/bin/env python3
"""docs.py -- what docs/ claims, checked against the build (make docs-check).

    docs.py check [--build DIR] [PAGE...]    compare; exit 1 on any difference
    docs.py update [--build DIR] [PAGE...]   rewrite the generated blocks

Three kinds of claim, each marked in the page with an HTML comment (which
Markdown does not show):

  <!-- generated: NAME -->          The lines up to the next <!-- end --> are
  ...                               what `DIR/docs/gen NAME` prints (a byte
  <!-- end -->                      dump, a table: scripts/docs/gen.c), or,
                                    for a NAME ending in .sh, what
                                    `sh scripts/docs/NAME` prints. If they are
                                    a fenced block, the fence lines stay and
                                    the output is what is between them.
                                    `update` rewrites the lines; `check`
                                    fails on any difference, after NAME.norm
                                    (if there is one) has blurred what
                                    varies between runs: ports, addresses.

  <!-- program: NAME -->            The fenced C block that follows is a
                                    complete program: it is compiled with
                                    -std=c11 -Wall -Wextra -Werror against
                                    -Iinclude and DIR/libws6455.a, and run;
                                    it must exit 0, and its output must be
                                    the first `code span` after the block
                                    (the text says what it prints).

  scripts/docs/sizes                Numbers quoted in prose: each line names
                                    a value that `DIR/docs/gen sizes` prints
                                    (sizeof, a constant), or the number of
                                    cases `DIR/conformance --list` lists, and
                                    a pattern in a page; every match must
                                    show that value.

And every option default quoted as "`--option` (N unit)" or "(N unit by
default)" is compared with what `DIR/ws6455 --help` prints.

And every test_ name, `ws_`/`WS_` identifier and path into the tree
(src/..., test/..., scripts/...) a page names must exist.

Prints one line per check that fails and ends with "docs-check: N passed,
N failed", which scripts/test-record.sh counts.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GEN_RE = re.compile(r'^<!-- generated: (\S+) -->$')
END_RE = re.compile(r'^<!-- end -->$')
PROG_RE = re.compile(r'^<!-- program: (\S+) -->$')
CFLAGS = ['-std=c11', '-Wall', '-Wextra', '-Werror', '-Wpedantic', '-D_GNU_SOURCE']


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self):
        self.passed += 1

    def fail(self, where, msg):
        self.failed += 1
        print(f'FAIL {where}: {msg}')


def generate(build, name):
    """The output of the generator NAME, or raise RuntimeError."""
    if name.endswith('.sh'):
        cmd = ['sh', os.path.join('scripts', 'docs', name), build]
    else:
        cmd = [os.path.join(build, 'docs', 'gen'), name]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} exited {p.returncode}: {p.stderr.strip()}')
    return p.stdout


def generated_blocks(lines):
    """(start, end, name) for each marked region: lines[start+1:end]."""
    i = 0
    fenced = False
    while i < len(lines):
        if lines[i].startswith('```'):
            fenced = not fenced
        m = GEN_RE.match(lines[i])
        if m and fenced:
            raise ValueError(f'line {i + 1}: a <!-- generated --> mark inside a code block')
        if m:
            j = i + 1
            while j < len(lines) and not END_RE.match(lines[j]):
                if GEN_RE.match(lines[j]):
                    raise ValueError(f'line {i + 1}: <!-- generated --> without <!-- end -->')
                j += 1
            if j == len(lines):
                raise ValueError(f'line {i + 1}: <!-- generated --> without <!-- end -->')
            yield i, j, m.group(1)
            i = j
        i += 1


def normalizer(name):
    """For a generator NAME.sh with a NAME.norm beside it (lines REGEX, a
    tab, REPLACEMENT): a function that blurs what varies from run to run,
    applied to the page and to the run alike before they are compared.
    Without one, lines are compared as they are."""
    path = os.path.join(ROOT, 'scripts', 'docs', name[:-3] + '.norm')
    if not name.endswith('.sh') or not os.path.exists(path):
        return lambda line: line
    rules = []
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line and not line.startswith('#'):
                pattern, repl = line.split('\t', 1)
                rules.append((re.compile(pattern), repl.replace('\\', '\\\\')))

    def norm(line):
        for pattern, repl in rules:
            line = pattern.sub(repl, line)
        return line
    return norm


def render(body, output):
    """The region's new lines: output, inside body's fence if it had one."""
    out = output.splitlines()
    if body and body[0].startswith('```'):
        return [body[0]] + out + ['```']
    return out


def do_generated(page, lines, build, res, update):
    new = list(lines)
    shift = 0
    for start, end, name in list(generated_blocks(lines)):
        where = f'{page}:{start + 1} generated {name}'
        body = lines[start + 1:end]
        try:
            want = render(body, generate(build, name))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            res.fail(where, str(e))
            continue
        norm = normalizer(name)
        if [norm(l) for l in body] == [norm(l) for l in want]:
            res.ok()
            continue
        if update:
            new[start + 1 + shift:end + shift] = want
            shift += len(want) - len(body)
            print(f'updated {where}')
            res.ok()
            continue
        res.fail(where, 'the page differs from what the code gives:')
        for a, b in zip(body + [''] * len(want), want + [''] * len(body)):
            if norm(a) != norm(b):
                print(f'  page: {a!r}\n  code: {b!r}')
                break
    return new


def do_programs(page, lines, build, res):
    # A complete program (one with main()) must be marked, so that it runs.
    fenced, start = False, 0
    for i, line in enumerate(lines):
        if line.startswith('```'):
            fenced, start = not fenced, i
            continue
        if fenced and lines[start].startswith('```c') and re.match(r'int main\(', line) and \
                not (start > 0 and PROG_RE.match(lines[start - 1])):
            res.fail(f'{page}:{start + 1}',
                     'a program (it has main()) without <!-- program: NAME -->')
    for i, line in enumerate(lines):
        m = PROG_RE.match(line)
        if not m:
            continue
        name = m.group(1)
        where = f'{page}:{i + 1} program {name}'
        if i + 1 >= len(lines) or not lines[i + 1].startswith('```c'):
            res.fail(where, 'no ```c block right after the marker')
            continue
        j = i + 2
        while j < len(lines) and lines[j] != '```':
            j += 1
        src = '\n'.join(lines[i + 2:j]) + '\n'
        # What it prints: the first code span after the block.
        span = re.search(r'`([^`\n]+)`', '\n'.join(lines[j + 1:j + 12]))
        with tempfile.TemporaryDirectory() as tmp:
            c = os.path.join(tmp, name + '.c')
            exe = os.path.join(tmp, name)
            with open(c, 'w') as f:
                f.write(src)
            cc = os.environ.get('CC', 'cc')
            p = subprocess.run([cc] + CFLAGS + ['-Iinclude', '-o', exe, c,
                                os.path.join(build, 'libws6455.a')],
                               cwd=ROOT, capture_output=True, text=True)
            if p.returncode != 0:
                res.fail(where, 'does not compile:\n' + p.stderr)
                continue
            try:
                p = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=30)
            except subprocess.TimeoutExpired:
                res.fail(where, 'did not end within 30 s')
                continue
        if p.returncode != 0:
            res.fail(where, f'exited {p.returncode}')
        elif not span or p.stdout.strip() != span.group(1):
            res.fail(where, f'prints {p.stdout.strip()!r}, the page says '
                            f'{span.group(1) if span else "nothing"!r}')
        else:
            res.ok()


def do_sizes(build, res, pages):
    """scripts/docs/sizes: VALUE PAGE REGEX, the regex's group 1 a number
    (commas allowed) that must equal VALUE; VALUE/N in units of N (rounded
    down), VALUE/N.1 in units of N to one decimal. Every line must match at
    least once."""
    try:
        values = dict(l.split() for l in generate(build, 'sizes').splitlines())
        # The conformance driver's cases, counted from its own list.
        ids = subprocess.run([os.path.join(build, 'conformance'), '127.0.0.1', '1', '--list'],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
        ids = [l.split()[0] for l in ids.stdout.splitlines() if l.strip()]
        values['conformance_cases'] = str(len(ids))
        values['conformance_deflate_cases'] = str(sum(
            1 for i in ids if i.startswith(('12.', '13.', 'X.5.', 'X.6.', 'X.7.'))))
        # The second pass of make conformance: the prefixes of CONF_DEDICATED.
        with open(os.path.join(ROOT, 'Makefile')) as f:
            dedicated = re.search(r'^CONF_DEDICATED := (\S+)$', f.read(), re.M).group(1)
        values['conformance_dedicated_cases'] = str(sum(
            1 for i in ids if i.startswith(tuple(dedicated.split(',')))))
        # Lines of code: the server's sources and headers, the minimal server.
        def lines(paths):
            return str(sum(open(os.path.join(ROOT, p), 'rb').read().count(b'\n') for p in paths))
        values['src_lines'] = lines(sorted(os.path.join(d, f) for d in ('src', 'include')
                                           for f in os.listdir(os.path.join(ROOT, d))
                                           if f.endswith(('.c', '.h'))))
        values['minimal_lines'] = lines(['examples/minimal-echo.c'])
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        res.fail('sizes', str(e))
        return
    with open(os.path.join(ROOT, 'scripts', 'docs', 'sizes')) as f:
        rules = [(n, l.rstrip('\n')) for n, l in enumerate(f, 1)]
    texts = {}
    for n, rule in rules:
        if not rule.strip() or rule.startswith('#'):
            continue
        expr, page, pattern = rule.split(None, 2)
        if pages and page not in pages:
            continue
        where = f'scripts/docs/sizes:{n} {expr} in {page}'
        name, _, div = expr.partition('/')
        if name not in values:
            res.fail(where, f'gen sizes prints no {name}')
            continue
        # /N.1: in units of N, to one decimal as the page rounds it.
        if div.endswith('.1'):
            want = round(int(values[name]) / int(div[:-2]), 1)
        else:
            want = int(values[name]) // int(div or 1)
        if page not in texts:
            with open(os.path.join(ROOT, page)) as f:
                texts[page] = f.read()
        found = [m.group(1) for m in re.finditer(pattern, texts[page])]
        if not found:
            res.fail(where, f'/{pattern}/ is not in the page any more')
        elif any(type(want)(x.replace(',', '')) != want for x in found):
            res.fail(where, f'the page says {", ".join(found)}, the code {want}')
        else:
            res.ok()


HELP_DEFAULT = re.compile(r'^  (?:-\w, )?--([a-z-]+)(?:[^\n]*\n(?!  -))*?[^\n]*\(default ([^)]*)\)',
                          re.M)
QUOTED_DEFAULT = re.compile(
    r'`--([a-z-]+)` \(([0-9][0-9.,]*)(?: (s|KiB|MiB|GiB)(?: by default)?| by default)\)')
UNITS = {None: 1, 's': 1, 'KiB': 1024, 'MiB': 1 << 20, 'GiB': 1 << 30}


def do_defaults(build, res, pages):
    """Every "`--option` (N unit)" or "(N unit by default)" in a page must
    be the default `ws6455 --help` prints (seconds, bytes, counts)."""
    try:
        p = subprocess.run([os.path.join(build, 'ws6455'), '--help'], cwd=ROOT,
                           capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as e:
        res.fail('defaults', f'ws6455 --help: {e}')
        return
    defaults = {}
    for m in HELP_DEFAULT.finditer(p.stdout):
        word = m.group(2).split()[0].rstrip(';')
        if re.fullmatch(r'[0-9]+(\.[0-9]+)?', word):
            defaults[m.group(1)] = float(word)
    if len(defaults) < 10:
        res.fail('defaults', f'only {len(defaults)} numeric defaults read from --help')
        return
    for page in pages:
        with open(os.path.join(ROOT, page)) as f:
            text = f.read()
        for m in QUOTED_DEFAULT.finditer(text):
            name, num, unit = m.groups()
            line = text.count('\n', 0, m.start()) + 1
            where = f'{page}:{line} --{name}'
            if name not in defaults:
                res.fail(where, f'--help gives no numeric default for --{name}')
                continue
            said = float(num.replace(',', '')) * UNITS[unit]
            if said != defaults[name]:
                res.fail(where, f'the page says {m.group(0)}, --help {defaults[name]:g}')
            else:
                res.ok()


# Names the pages use that are neither the project's nor the C library's:
# Node's ws error code (tutorial-vs-ws6455.md), the Linux kernel's
# tcp_close() (endings.md).
FOREIGN_NAMES = {'WS_ERR_EXPECTED_MASK', 'tcp_close'}
LIBC_HEADERS = ('stdlib.h', 'stdio.h', 'string.h', 'unistd.h', 'fcntl.h', 'signal.h', 'time.h',
                'poll.h', 'sys/socket.h', 'sys/epoll.h', 'sys/sendfile.h', 'sys/uio.h',
                'sys/mman.h', 'sys/timerfd.h', 'netinet/in.h', 'arpa/inet.h', 'malloc.h')
SOURCE_GLOBS = ('src/*.c', 'src/*.h', 'include/*.h', 'test/*.c', 'test/*/*.c', 'test/*/*.h',
                'test/*/*.py', 'test/*/*.js', 'test/*/*.sh', 'examples/*', 'scripts/*.sh',
                'scripts/docs/*', 'client/*', 'bench/*.c', 'bench/*/*.c', 'bench/*.js', 'mk/*.mk',
                'Makefile')


def do_names(res, pages):
    """Every test_ name, every `ws_...`/`WS_...` identifier, every `name()`
    and every path into the tree (src/, include/, test/, ...) a page names
    must exist: a renamed function or a moved file fails the page that
    still names it."""
    import glob
    words = set()
    for pattern in SOURCE_GLOBS:
        for path in glob.glob(os.path.join(ROOT, pattern)):
            if os.path.isfile(path):
                with open(path, errors='replace') as f:
                    words.update(re.findall(r'\w+', f.read()))
    # The C library's functions a page may name without the sources
    # calling them (`rand()`): the names its headers declare.
    for header in LIBC_HEADERS:
        # sys/ headers live under the multiarch directory on Debian.
        for path in [os.path.join('/usr/include', header)] + \
                glob.glob(os.path.join('/usr/include', '*', header)):
            if os.path.isfile(path):
                with open(path, errors='replace') as f:
                    words.update(re.findall(r'\w+', f.read()))
    for page in pages:
        with open(os.path.join(ROOT, page)) as f:
            text = f.read()
        missing = set()
        names = re.findall(r'\btest_[a-z0-9_]*[a-z0-9]\b', text)
        names += re.findall(r'`((?:ws|WS)_[A-Za-z0-9_]*[A-Za-z0-9])\b', text)
        # A function named as `name()`: ours, or libc's (which the sources
        # call, so it is in them too).
        names += re.findall(r'`([a-z][a-z0-9_]*)\(', text)
        for name in names:
            if name not in words and name not in FOREIGN_NAMES:
                missing.add(name)
        for m in re.finditer(r'(?<![\w/.-])((?:src|include|test|scripts|examples|client|bench|mk)'
                             r'/[A-Za-z0-9_./-]*[A-Za-z0-9_])', text):
            path = m.group(1)
            if 'NAME' in path or 'node_modules' in path or text[m.end():m.end() + 1] in '<*{':
                continue  # a placeholder, what npm installs, a pattern (test/test_<module>.c)
            if not os.path.exists(os.path.join(ROOT, path)):
                missing.add(path)
        if missing:
            res.fail(page, 'names what the tree does not have: ' + ', '.join(sorted(missing)))
        else:
            res.ok()


def main(argv):
    update = False
    build = 'build'
    args = argv[1:]
    if not args or args[0] not in ('check', 'update'):
        print(__doc__, file=sys.stderr)
        return 2
    update = args.pop(0) == 'update'
    if args[:1] == ['--build']:
        build = args[1]
        args = args[2:]
    pages = args or sorted(os.path.join('docs', p) for p in os.listdir(os.path.join(ROOT, 'docs'))
                           if p.endswith('.md'))
    res = Result()
    for page in pages:
        with open(os.path.join(ROOT, page)) as f:
            lines = f.read().split('\n')
        try:
            new = do_generated(page, lines, build, res, update)
        except ValueError as e:
            res.fail(page, str(e))
            continue
        if update and new != lines:
            with open(os.path.join(ROOT, page), 'w') as f:
                f.write('\n'.join(new))
        do_programs(page, new, build, res)
    do_sizes(build, res, set(args))
    do_defaults(build, res, pages)
    do_names(res, pages)
    print(f'docs-check: {res.passed} passed, {res.failed} failed')
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
