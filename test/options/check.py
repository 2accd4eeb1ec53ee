#!/usr/bin/env python3
"""check.py -- `ws6455 --help`, the man page and README.md tell the same story.

    python3 test/options/check.py [BINARY [MANPAGE [README]]]
    (defaults: $WS6455_BIN or build/ws6455, docs/ws6455.1, README.md)

Three places list the options: the binary's --help (built from the code's
defaults), the man page docs/ws6455.1 and the options table of README.md.
This reads the options out of each, with no list of its own, and fails
for every option missing from one of them, every argument name that
differs (--port N vs --port PORT), and every default that differs where
they state one. A default is compared as a value when a source states it
as one word or number (8080, 16M, shared, `0` (off), "2 = CPUs"); sizes
with K/M/G are compared in bytes, numbers as numbers, "N = WORD" matches
either; a default stated in prose ("the page installed with the binary")
must be there, and a value stated elsewhere must be one of its words. It also checks that the
signals and exit statuses --help names are documented in the man page and
the README, and that the man page carries the binary's version.

Prints one line per check and "N passed, N failed"; exits 1 on a failure.
Standard library only.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z0-9][A-Za-z0-9-]*)")

passed = 0
failed = 0


def check(ok, what, why=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + why if why else ""))


# ---------------------------------------------------------------- sources
# Each parser returns {option: {"names": [...], "arg": METAVAR or None,
# "default": text or None}}, keyed by the long name (or the short one for
# an option that has no long name), plus the source's whole text.

def parse_help(text):
    """Option lines start with two spaces and a dash; their description
    runs on in lines indented further, up to the next option or a blank
    line. The default is the "(default ...)" in that description."""
    opts, cur = {}, None
    head = re.compile(r"^  (-[A-Za-z0-9], )?(--[a-z0-9][a-z0-9-]*)(?:[ =]([A-Z][A-Z_]*))?(\s|$)")
    for line in text.splitlines():
        m = head.match(line)
        if m:
            names = ([m.group(1)[:-2]] if m.group(1) else []) + [m.group(2)]
            cur = {"names": names, "arg": m.group(3), "text": line[m.end():]}
            opts[m.group(2)] = cur
        elif cur and line.startswith("   "):
            cur["text"] += " " + line.strip()
        else:
            cur = None
    for o in opts.values():
        text_ = " ".join(o.pop("text").split())
        m = re.search(r"\(default:?\s*([^)]*)\)", text_)
        o["default"] = m.group(1).strip() if m else None
    return opts


def deroff(s):
    """The text of a roff line: font escapes and quotes gone, \\- as -."""
    s = re.sub(r"^\.(B|I|BI|IB|BR|RB|IR|RI)\s+", "", s)
    s = re.sub(r"\\f[BIRP]|\\f\(..|\\&", "", s)
    s = s.replace("\\-", "-").replace("\\(dq", '"').replace("\\(em", "--")
    return s.replace('"', "")


def sections(man):
    """{SECTION NAME: [lines]} of a man(7) page."""
    out, name = {}, None
    for line in man.splitlines():
        if line.startswith(".SH "):
            name = line[4:].strip().strip('"')
            out[name] = []
        elif name:
            out[name].append(line)
    return out


def tp_items(lines):
    """The .TP items of a section: (tag line, paragraph lines)."""
    items, cur = [], None
    for line in lines:
        if line.startswith(".TP"):
            cur = [None, []]
            items.append(cur)
        elif cur is not None and cur[0] is None:
            cur[0] = line
        elif cur is not None and line.startswith((".PP", ".SH")):
            cur = None
        elif cur is not None:
            cur[1].append(line)
    return items


def parse_man(man):
    """Each .TP of OPTIONS: its tag names the option (and its argument);
    its paragraph ends with "Default: VALUE."."""
    opts = {}
    for tag, para in tp_items(sections(man).get("OPTIONS", [])):
        tag = deroff(tag or "")
        names = OPTION.findall(tag)
        if not names:
            continue
        long = [n for n in names if n.startswith("--")]
        m = re.search(r"--[A-Za-z0-9-]+\s+([A-Z][A-Z_]*)", tag)
        text_ = " ".join(deroff(l) for l in para if not l.startswith(".\\\""))
        text_ = " ".join(text_.split())
        d = re.search(r"Default:\s*(.+?)\.(?:\s|$)", text_)
        opts[(long or names)[0]] = {"names": names, "arg": m.group(1) if m else None,
                                    "default": d.group(1).strip() if d else None}
    return opts


def parse_readme(readme):
    """The table under "## Options": first cell the option(s) in backticks,
    second cell the default."""
    m = re.search(r"^## Options\s*$(.*?)(?=^## )", readme, re.M | re.S)
    if not m:
        return {}, ""
    section = m.group(1)
    opts = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2:
            continue
        names = re.findall(r"`(--?[A-Za-z0-9][A-Za-z0-9-]*)(?:[ =]([A-Z][A-Z_]*))?`", cells[0])
        if not names:
            continue
        long = [n for n, _ in names if n.startswith("--")]
        default = cells[1] or None
        for n, arg in names:
            if n in long or not long:
                opts[n] = {"names": [x for x, _ in names], "arg": arg or None,
                           "default": default}
    return opts, section


# --------------------------------------------------------------- defaults

def values(default):
    """The default as a set of comparable values, or an empty set when it
    is prose (or absent). "2 = CPUs" -> {2, cpus}; "`0` (off)" -> {0};
    "16M" -> {16777216}."""
    if not default:
        return set()
    t = default.strip().lstrip(":").strip()
    head = re.split(r"[;,(]", t)[0].strip()
    out = set()
    for alt in head.split(" = "):
        alt = alt.strip().strip("`\"'").strip()
        if not alt or " " in alt:
            continue
        m = re.fullmatch(r"(\d+)([KMG])", alt, re.I)
        if m:
            alt = str(int(m.group(1)) << {"k": 10, "m": 20, "g": 30}[m.group(2).lower()])
        try:
            alt = repr(float(alt))
        except ValueError:
            alt = alt.lower()
        out.add(alt)
    return out


# ------------------------------------------------------------------- main

def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("WS6455_BIN", "build/ws6455")
    man_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "ws6455.1")
    readme_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(ROOT, "README.md")

    def run(*args):
        r = subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=10, universal_newlines=True)
        return r.returncode, r.stdout

    rc, help_text = run("--help")
    check(rc == 0, "%s --help exits 0" % binary, "exit %d" % rc)
    _, version = run("--version")
    with open(man_path, encoding="utf-8") as f:
        man = f.read()
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()

    src = {"--help": parse_help(help_text), "man page": parse_man(man)}
    src["README"], readme_options = parse_readme(readme)
    for name, opts in src.items():
        check(len(opts) > 0, "%s lists options" % name, "found none: has its format changed?")

    # Every option in all three, under the same names and argument.
    def all_names(opts):
        return {n for o in opts.values() for n in o["names"]}

    every = sorted(set().union(*(all_names(o) for o in src.values())),
                   key=lambda n: n.lstrip("-"))
    for n in every:
        missing = [s for s, opts in src.items() if n not in all_names(opts)]
        check(not missing, "%s is in --help, the man page and README" % n,
              "missing from " + ", ".join(missing))

    for key in sorted(set(src["--help"]) | set(src["man page"]) | set(src["README"])):
        have = {s: opts[key] for s, opts in src.items() if key in opts}
        if len(have) < 2:
            continue
        args = {s: o["arg"] for s, o in have.items()}
        check(len(set(args.values())) == 1, "%s takes the same argument everywhere" % key,
              ", ".join("%s says %s" % (s, a or "none") for s, a in args.items()))

        stated = {s: o["default"] for s, o in have.items() if o["default"]}
        if not stated:
            continue
        unstated = [s for s in have if s not in stated]
        vals = {s: values(d) for s, d in stated.items()}
        compared = {s: v for s, v in vals.items() if v}
        disagree = [(a, b) for a in compared for b in compared
                    if a < b and not (compared[a] & compared[b])]
        # A value against prose: the value must at least be a word of it.
        for a in compared:
            for b in stated:
                words = set(re.findall(r"[\w.*]+", stated[b].lower()))
                if b not in compared and not any(v.strip("'") in words for v in
                                                 vals[a] | {stated[a].strip("`").lower()}):
                    disagree.append((a, b))
        why = "; ".join("%s: %s" % (s, stated.get(s, "no default")) for s in have)
        check(not unstated and not disagree, "%s has the same default everywhere (%s)"
              % (key, stated.get("--help", next(iter(stated.values())))), why)

    # Signals and exit statuses --help names, in the man page and README.
    epilog = help_text[help_text.rfind("\n  -"):]
    man_sec = sections(man)
    signals = set(re.findall(r"\bSIG[A-Z0-9]+\b", epilog))
    man_signals = set(re.findall(r"\bSIG[A-Z0-9]+\b", "\n".join(man_sec.get("SIGNALS", []))))
    check(signals and signals <= man_signals, "the man page's SIGNALS has --help's %s"
          % " ".join(sorted(signals)), "missing: " + " ".join(sorted(signals - man_signals)))
    readme_signals = set(re.findall(r"\bSIG[A-Z0-9]+\b", readme))
    check(signals <= readme_signals, "README names --help's signals",
          "missing: " + " ".join(sorted(signals - readme_signals)))

    def statuses(text):
        m = re.search(r"Exit status:(.*?)(?:\n\s*\n|$)", text, re.S)
        return set(re.findall(r"\b(\d+) (?:after|if|for|when|on)\b", m.group(1))) if m else set()

    exits = statuses(help_text)
    man_exits = {deroff(tag).strip() for tag, _ in tp_items(man_sec.get("EXIT STATUS", []))}
    check(exits and exits <= man_exits, "the man page's EXIT STATUS has --help's %s"
          % ", ".join(sorted(exits)), "man page lists: %s" % ", ".join(sorted(man_exits)))
    readme_exits = statuses(readme)
    check(exits == readme_exits, "README's exit statuses are --help's",
          "README: %s" % ", ".join(sorted(readme_exits)))

    th = re.search(r'^\.TH\s+\S+\s+1\s+\S+\s+"([^"]*)"', man, re.M)
    first = version.splitlines()[0] if version else ""
    check(th is not None and th.group(1) == first,
          "the man page is for %s" % first, "its .TH says %s" % (th.group(1) if th else "nothing"))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
