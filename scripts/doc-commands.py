#!/usr/bin/env python3
"""Checks that the commands in the docs work as written, and that the docs link up.

Reads the fenced ```sh, ```bash, ```shell and ```console blocks of README.md, docs/*.md and
events/README.md (in a ```console block only the lines starting with `$ ` are commands).

Marking rules (an HTML comment on the line right before the opening fence; blank lines between
are allowed, nothing else):

  (no marker)                  checked, not run: `bash -n` parses the block, then every command
                               in it is dry-run checked (see below).
  <!-- doc-commands: run -->   also run, from the checkout's root, with `bash -euo pipefail`
                               (300 s limit), with the caller's environment: scripts/test.sh
                               has set the local AWS (scripts/local-aws.sh env) by then. Only
                               for cheap commands that need no network beyond 127.0.0.1 and
                               leave no tracked file changed.
  <!-- doc-commands: aws -->   needs a real AWS account (or a placeholder to fill in): parsed
                               with `bash -n` only; `sam` commands in it are still dry-run.

`aws ...` (AWS CLI) commands always need an account: in any block they are parsed only, so a
block of them needs no marker. Shorthands (`sign() { cargo run -q -p engage-sign -- "$@"; }`)
hold for the rest of their file.

Placeholders in angle brackets (`<LoyaltyQueueUrl>`, `<port>`) and `...` are fine anywhere.

The dry run, per command (after `&&`, `||`, `;`, `|` and `name() { cmd "$@"; }` shorthands):
  scripts/X ...            the script exists and is executable; each `--flag` and each
                           bare-word argument (`start`) occurs in it
  cargo run -p P -- ...    P is a workspace package; for our tools (P has a binary), `--help`
                           of the named subcommand lists every `--flag` used
  cargo test/bench -p P    P is a workspace package; `--bench B` / `--test T` exists in it
  cargo run -p P --example E -- ...
                           P has examples/E.rs; each `--flag` after `--` occurs in that file
  cargo lambda SUB ...     `cargo lambda SUB --help` (the venv's cargo-lambda) lists each flag;
                           `invoke` must name `--invoke-address` (the docs' `watch` listens on
                           127.0.0.1 only, and invoke's default address is not that)
  sam SUB ...              `sam SUB --help` (the venv's SAM CLI) lists each flag
  any path-like argument   (`events/...`, `scripts/...`, `docs/...`) names an existing file
A command this script does not know is an error, so a new kind of command gets a rule.

Links: every docs/*.md page is linked from README.md, and every relative link (and its
`#anchor`, by GitHub's heading slugs) in the checked files resolves.

Usage: scripts/doc-commands.py [--no-run] [--self-test]
Exit 0 when everything holds; else each problem is printed as `file:line: problem`.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGS = {"sh", "bash", "shell", "console"}
MARKER = re.compile(r"^<!--\s*doc-commands:\s*(run|aws)\s*-->\s*$")
PLACEHOLDER = re.compile(r"<[A-Za-z0-9][^<>\n]*>")
# Commands that are the shell's or the system's own: nothing of ours to check.
SYSTEM = {
    "export", "eval", "echo", "sleep", "date", "cat", "cd", "source", ".", "true", "curl",
    "for", "do", "done", "while", "if", "then", "fi", "else", "ls", "jq", "unset", "grep",
    "false", "head", "tail", "sed", "wc", "sort", "less",
}
SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", "{", "}", ";;"}


class Block:
    def __init__(self, path, line, lang, mode, text):
        self.path, self.line, self.lang, self.mode, self.text = path, line, lang, mode, text


def doc_files(root):
    files = [root / "README.md", root / "events" / "README.md"]
    files += sorted((root / "docs").glob("*.md"))
    return [f for f in files if f.exists()]


def blocks_of(path):
    """The shell blocks of a Markdown file, with their marker (None, 'run' or 'aws')."""
    lines = path.read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^\s*```\s*([A-Za-z]*)", lines[i])
        if not m:
            i += 1
            continue
        lang, start = m.group(1).lower(), i
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```", lines[j]):
            j += 1
        if lang in LANGS:
            k = start - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            mode = None
            if k >= 0 and (mm := MARKER.match(lines[k].strip())):
                mode = mm.group(1)
            body = lines[start + 1 : j]
            if lang == "console":
                body = [l[2:] if l.startswith("$ ") else "" for l in body]
            out.append(Block(path, start + 2, lang, mode, "\n".join(body)))
        i = j + 1
    return out


def logical_lines(text):
    """(line offset, text): backslash continuations and multi-line quoted strings joined."""
    out, buf, first = [], "", None
    for n, raw in enumerate(text.split("\n")):
        if first is None:
            first = n
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        buf += raw
        try:
            shlex.split(buf, comments=True)
        except ValueError:  # a quoted string goes on: `--secret-string '{ ... }'`
            buf += "\n"
            continue
        out.append((first, buf))
        buf, first = "", None
    if buf:
        out.append((first, buf))
    return out


def substitutions(line):
    """`line` with each `$(...)` (outside single quotes) replaced by SUBST, and their insides."""
    out, inner, i, quote = [], [], 0, None
    while i < len(line):
        c = line[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "'" and quote is None:
            quote = "'"
        elif c == '"':
            quote = None if quote == '"' else '"'
        elif line.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(line) and depth:
                depth += {"(": 1, ")": -1}.get(line[j], 0)
                j += 1
            inner.append(line[i + 2 : j - 1])
            out.append("SUBST")
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out), inner


def simple_commands(line, aliases):
    """The argument lists of the simple commands on one logical line, `$(...)` insides too."""
    line = PLACEHOLDER.sub("PLACEHOLDER", line)
    line, inner = substitutions(line)
    nested = [c for part in inner for c in simple_commands(part, aliases)]
    m = re.match(r"^\s*(\w+)\s*\(\)\s*\{\s*(.*?)\s*\"\$@\"\s*;?\s*\}\s*$", line)
    if m:  # a shorthand: `sign() { cargo run -q -p engage-sign -- "$@"; }`
        aliases[m.group(1)] = shlex.split(m.group(2))
        return [shlex.split(m.group(2))]
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|(){}")
    lex.whitespace_split = True
    lex.commenters = "#"
    cmds, cur = [], []
    for tok in lex:
        if tok in SEPARATORS:
            if cur:
                cmds.append(cur)
            cur = []
        else:
            cur.append(tok)
    if cur:
        cmds.append(cur)
    out = []
    for c in cmds:
        while c and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", c[0]):
            c = c[1:]  # leading VAR=value assignments
        if c and c[0] in aliases:
            c = aliases[c[0]] + c[1:]
        if c:
            out.append(c)
    return out + nested


class Checker:
    def __init__(self, root, run=True):
        self.root, self.run_blocks = root, run
        self.problems = []
        self.help_cache = {}
        self._packages = None

    def problem(self, block, offset, text):
        rel = os.path.relpath(block.path, self.root)
        self.problems.append(f"{rel}:{block.line + offset}: {text}")

    # -- workspace knowledge ------------------------------------------------------------------
    def packages(self):
        """Workspace package name -> (directory, has a binary)."""
        if self._packages is None:
            self._packages = {}
            for toml in self.root.glob("**/Cargo.toml"):
                if "target" in toml.parts or ".venv" in toml.parts:
                    continue
                m = re.search(r'(?ms)^\[package\].*?^name\s*=\s*"([^"]+)"', toml.read_text())
                if m:
                    d = toml.parent
                    has_bin = (d / "src" / "main.rs").exists() or "[[bin]]" in toml.read_text()
                    self._packages[m.group(1)] = (d, has_bin)
        return self._packages

    def tool(self, name):
        venv = self.root / ".venv" / "bin" / name
        return str(venv) if venv.exists() else shutil.which(name)

    def help_text(self, argv):
        key = tuple(argv)
        if key not in self.help_cache:
            try:
                r = subprocess.run(
                    argv, cwd=self.root, capture_output=True, text=True, timeout=300
                )
                self.help_cache[key] = (r.returncode, r.stdout + r.stderr)
            except (OSError, subprocess.TimeoutExpired) as e:
                self.help_cache[key] = (127, str(e))
        return self.help_cache[key]

    def our_binary(self, package):
        """Builds (if needed) and returns the path of a workspace binary."""
        rc, out = self.help_text(["cargo", "build", "-q", "--locked", "-p", package])
        if rc != 0:
            return None, out
        target = Path(os.environ.get("CARGO_TARGET_DIR", self.root / "target"))
        return str(target / "debug" / package), ""

    # -- the checks ---------------------------------------------------------------------------
    def check_flags(self, block, off, flags, help_out, what):
        for f in flags:
            name = f.split("=", 1)[0]
            if not re.search(re.escape(name) + r"(?![\w-])", help_out):
                self.problem(block, off, f"{what} does not accept {name}")

    def check_paths(self, block, off, args):
        for a in args:
            if "PLACEHOLDER" in a or "://" in a or "$" in a or a.startswith("-") or "*" in a:
                continue
            first = a.split("/", 1)[0]
            if "/" in a and first in {"events", "scripts", "docs", "functions", "shared", "tools"}:
                if not (self.root / a).exists():
                    self.problem(block, off, f"no such file: {a}")

    def check_command(self, block, off, argv):
        cmd, args = argv[0], argv[1:]
        flags = [a for a in args if a.startswith("--") and len(a) > 2]
        if cmd.startswith("scripts/") or cmd.startswith("./scripts/"):
            path = self.root / cmd.removeprefix("./")
            if not path.exists():
                self.problem(block, off, f"no such script: {cmd}")
                return
            if not os.access(path, os.X_OK):
                self.problem(block, off, f"not executable: {cmd}")
            text = path.read_text()
            for f in flags:
                if f.split("=", 1)[0] not in text:
                    self.problem(block, off, f"{cmd} does not know {f}")
            for word in args:  # subcommands: `scripts/local-aws.sh start`
                if re.fullmatch(r"[a-z][a-z-]*", word) and not re.search(rf"\b{word}\b", text):
                    self.problem(block, off, f"{cmd} does not know {word!r}")
            self.check_paths(block, off, args)
        elif cmd == "cargo":
            self.check_cargo(block, off, args)
        elif cmd == "sam":
            self.check_sam(block, off, args)
        elif cmd == "aws":
            pass  # needs an AWS account: parsed only
        elif cmd in SYSTEM or cmd == "PLACEHOLDER":
            self.check_paths(block, off, args)
        else:
            self.problem(block, off, f"unknown command {cmd!r}: teach scripts/doc-commands.py or mark the block")

    def check_cargo(self, block, off, args):
        if not args:
            self.problem(block, off, "bare cargo")
            return
        sub, rest = args[0], args[1:]
        if sub == "lambda":
            self.check_cargo_lambda(block, off, rest)
            return
        before, after = (rest[: rest.index("--")], rest[rest.index("--") + 1 :]) if "--" in rest else (rest, [])
        pkg = None
        for i, a in enumerate(before):
            if a in ("-p", "--package") and i + 1 < len(before):
                pkg = before[i + 1]
        if sub in ("fmt", "clippy", "build", "check", "doc"):
            return
        if sub not in ("run", "test", "bench"):
            self.problem(block, off, f"unknown cargo subcommand {sub!r}")
            return
        if pkg is None:
            if sub == "run":
                self.problem(block, off, "cargo run without -p: name the package")
            return
        if pkg not in self.packages():
            self.problem(block, off, f"no workspace package {pkg!r}")
            return
        pdir, has_bin = self.packages()[pkg]
        for kind, folder in (("--bench", "benches"), ("--test", "tests"), ("--example", "examples")):
            if kind in before:
                i = before.index(kind)
                if i + 1 < len(before) and not (pdir / folder / f"{before[i + 1]}.rs").exists():
                    self.problem(block, off, f"{pkg} has no {kind} {before[i + 1]}")
        if sub == "run" and "--example" in before:
            self.check_example(block, off, pkg, pdir, before, after)
        elif sub == "run" and has_bin:
            self.check_our_tool(block, off, pkg, after)

    def check_example(self, block, off, pkg, pdir, before, args):
        """An example's flags, checked against its source as a script's are: each occurs in it
        (its doc comment shows its command line; building it in release to ask its --help would
        take minutes)."""
        i = before.index("--example")
        if i + 1 >= len(before):
            self.problem(block, off, "cargo run --example without a name")
            return
        name = before[i + 1]
        source = pdir / "examples" / f"{name}.rs"
        if not source.exists():
            return  # reported above
        text = source.read_text()
        for f in [a for a in args if a.startswith("--") and len(a) > 2]:
            if not re.search(re.escape(f.split("=", 1)[0]) + r"(?![\w-])", text):
                self.problem(block, off, f"{pkg} example {name} does not know {f}")
        self.check_paths(block, off, args)

    def check_our_tool(self, block, off, pkg, args):
        binary, err = self.our_binary(pkg)
        if binary is None:
            self.problem(block, off, f"cargo build -p {pkg} failed: {err.strip()[:200]}")
            return
        words = []
        for a in args:
            if a.startswith("-"):
                break
            words.append(a)
        rc, top = self.help_text([binary, "--help"])
        subcommand = []
        has_subcommands = re.search(r"(?m)^Commands:|^(Usage:)?\s+\S+ [a-z][a-z-]* \[", top)
        if words and has_subcommands:
            rc, _ = self.help_text([binary, words[0], "--help"])
            if rc != 0:
                self.problem(block, off, f"{pkg} has no subcommand {words[0]!r}")
                return
            subcommand = [words[0]]
        rc, out = self.help_text([binary, *subcommand, "--help"])
        if rc != 0:
            self.problem(block, off, f"{pkg} {' '.join(subcommand)} --help failed")
            return
        self.check_flags(block, off, [a for a in args if a.startswith("--")], out, f"{pkg} {' '.join(subcommand)}".strip())
        self.check_paths(block, off, args)

    def check_cargo_lambda(self, block, off, args):
        exe = self.tool("cargo-lambda")
        if not args:
            self.problem(block, off, "bare cargo lambda")
            return
        sub = args[0]
        if sub == "invoke" and "--invoke-address" not in args:
            self.problem(
                block, off,
                "cargo lambda invoke without --invoke-address: the documented watch listens on 127.0.0.1 only",
            )
        if exe is None:
            self.problem(block, off, "cargo-lambda not installed (scripts/venv.sh)")
            return
        rc, out = self.help_text([exe, "lambda", sub, "--help"])
        if rc != 0:
            self.problem(block, off, f"cargo lambda has no subcommand {sub!r}")
            return
        self.check_flags(block, off, [a for a in args if a.startswith("--")], out, f"cargo lambda {sub}")
        self.check_paths(block, off, args)

    def check_sam(self, block, off, args):
        exe = self.tool("sam")
        words = []
        for a in args:
            if not re.fullmatch(r"[a-z][a-z-]*", a) or len(words) == 2:
                break
            words.append(a)
        if exe is None:
            self.problem(block, off, "sam not installed (scripts/venv.sh)")
            return
        rc, out = self.help_text([exe, *words, "--help"])
        if rc != 0 or not words:
            self.problem(block, off, f"sam has no command {' '.join(words)!r}")
            return
        self.check_flags(block, off, [a for a in args if a.startswith("--")], out, f"sam {' '.join(words)}")
        self.check_paths(block, off, args)

    def check_block(self, block, aliases=None):
        parsed = PLACEHOLDER.sub("PLACEHOLDER", block.text)
        r = subprocess.run(["bash", "-n"], input=parsed, capture_output=True, text=True)
        if r.returncode != 0:
            self.problem(block, 0, f"bash -n: {r.stderr.strip()}")
            return
        aliases = {} if aliases is None else aliases
        for off, line in logical_lines(block.text):
            try:
                cmds = simple_commands(line, aliases)
            except ValueError as e:
                self.problem(block, off, f"cannot split {line.strip()!r}: {e}")
                continue
            for argv in cmds:
                if block.mode == "aws" and argv[0] != "sam":
                    continue
                self.check_command(block, off, argv)
        if block.mode == "run" and self.run_blocks:
            try:
                r = subprocess.run(
                    ["bash", "-euo", "pipefail", "-c", block.text],
                    cwd=self.root, capture_output=True, text=True, timeout=300,
                )
                if r.returncode != 0:
                    tail = (r.stdout + r.stderr).strip().splitlines()[-5:]
                    self.problem(block, 0, f"run failed (exit {r.returncode}): " + " | ".join(tail))
            except subprocess.TimeoutExpired:
                self.problem(block, 0, "run took more than 300 s")

    # -- links --------------------------------------------------------------------------------
    def check_links(self, files):
        readme = self.root / "README.md"
        readme_text = readme.read_text() if readme.exists() else ""
        for page in sorted((self.root / "docs").glob("*.md")):
            if f"(docs/{page.name}" not in readme_text:
                self.problems.append(f"README.md: does not link docs/{page.name}")
        for f in files:
            text = f.read_text()
            in_code = False
            for n, line in enumerate(text.split("\n"), 1):
                if re.match(r"^\s*```", line):
                    in_code = not in_code
                    continue
                if in_code:
                    continue
                for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"`[^`]*`", "", line)):
                    if re.match(r"^[a-z]+:", target):
                        continue
                    path, _, anchor = target.partition("#")
                    dest = (f.parent / path).resolve() if path else f
                    rel = os.path.relpath(f, self.root)
                    if not dest.exists():
                        self.problems.append(f"{rel}:{n}: broken link {target}")
                    elif anchor and dest.suffix == ".md" and anchor not in slugs(dest):
                        self.problems.append(f"{rel}:{n}: no heading #{anchor} in {os.path.relpath(dest, self.root)}")

    def check_all(self):
        files = doc_files(self.root)
        for f in files:
            aliases = {}
            for block in blocks_of(f):
                self.check_block(block, aliases)
        self.check_links(files)
        return self.problems


def slugs(md):
    """GitHub's anchors for the headings of a Markdown file."""
    out, seen = set(), {}
    in_code = False
    for line in md.read_text().split("\n"):
        if re.match(r"^\s*```", line):
            in_code = not in_code
        if in_code or not (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            continue
        s = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(s, 0)
        seen[s] = n + 1
        out.add(s if n == 0 else f"{s}-{n}")
    return out


def self_test():
    """A scratch checkout with broken commands: each must be reported; the good ones not."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "scripts").mkdir()
        (root / "docs").mkdir()
        (root / "events").mkdir()
        good = root / "scripts" / "good.sh"
        good.write_text("#!/bin/sh\ncase $1 in --keep) echo kept ;; esac\n")
        good.chmod(0o755)
        (root / "README.md").write_text(
            "[page](docs/page.md#usage)\n\n"
            "```sh\nscripts/good.sh --keep\nscripts/missing.sh\n```\n\n"
            "```sh\nscripts/good.sh --no-such-flag nosuchword\n```\n\n"
            "<!-- doc-commands: run -->\n```sh\nscripts/good.sh --keep | grep -q kept\n```\n\n"
            "<!-- doc-commands: run -->\n```sh\nfalse\n```\n"
        )
        (root / "docs" / "page.md").write_text(
            "# Page\n\n## Usage\n\n[gone](other.md)\n\n"
            "```bash\ncargo lambda invoke --invoke-port 9000 loyalty\n```\n\n"
            "```sh\naws sqs list-queues\ncat events/missing.json\nfrobnicate now\n```\n\n"
            "<!-- doc-commands: aws -->\n```sh\naws sqs get-queue-attributes --queue-url <Url>\n```\n\n"
            "```sh\nif then (\n```\n"
        )
        (root / "docs" / "orphan.md").write_text("# Orphan\n")
        problems = "\n".join(Checker(root).check_all())
        expected = [
            "README.md:5: no such script: scripts/missing.sh",
            "README.md:9: scripts/good.sh does not know --no-such-flag",
            "README.md:9: scripts/good.sh does not know 'nosuchword'",
            "README.md:19: run failed (exit 1)",
            "docs/page.md:8: cargo lambda invoke without --invoke-address",
            "docs/page.md:13: no such file: events/missing.json",
            "docs/page.md:14: unknown command 'frobnicate'",
            "docs/page.md:23: bash -n:",
            "docs/page.md:5: broken link other.md",
            "README.md: does not link docs/orphan.md",
        ]
        missing = [e for e in expected if e not in problems]
        allowed = expected + ["docs/page.md:8: cargo-lambda not installed", "docs/page.md:8: cargo lambda has no"]
        unexpected = [
            p for p in problems.splitlines()
            if p.startswith(("README.md", "docs/")) and not any(p.startswith(e) for e in allowed)
        ]
        if missing or unexpected:
            print("self-test FAILED\nreported:\n" + problems)
            print("not reported: " + "; ".join(missing))
            print("reported but should not be: " + "; ".join(unexpected))
            return 1
    # Our own tool: an unknown flag of engage-sign is caught through its --help.
    with tempfile.TemporaryDirectory() as tmp:
        md = Path(tmp) / "x.md"
        md.write_text(
            "```sh\ncargo run -q -p engage-sign -- send events/envelopes/contact.created.json --no-such-flag\n"
            "cargo run -q -p engage-sign -- no-such-command\n"
            "cargo run -q -p no-such-package\n"
            "cargo bench -p engage-webhooks --bench no-such-bench\n"
            "cargo run --release -p engage-testkit --example no-such-example\n"
            "cargo run --release -p engage-testkit --example bulk_load -- --family loyalty --no-such-flag 1\n```\n"
        )
        c = Checker(ROOT)
        for block in blocks_of(md):
            c.check_block(block, {})
        got = "\n".join(c.problems)
        for e in [
            "engage-sign send does not accept --no-such-flag",
            "engage-sign has no subcommand 'no-such-command'",
            "no workspace package 'no-such-package'",
            "engage-webhooks has no --bench no-such-bench",
            "engage-testkit has no --example no-such-example",
            "engage-testkit example bulk_load does not know --no-such-flag",
        ]:
            if e not in got:
                print(f"self-test FAILED: not reported: {e}\nreported:\n{got}")
                return 1
        if "contact.created.json" in got:
            print(f"self-test FAILED: an existing file reported missing\n{got}")
            return 1
        if "--family" in got:
            print(f"self-test FAILED: an example's own flag reported unknown\n{got}")
            return 1
    print("self-test passed: missing scripts, unknown flags, subcommands, packages, benches, examples,")
    print("files, unknown commands, failing run blocks, parse errors and broken links are reported")
    return 0


def main(argv):
    if "--self-test" in argv:
        return self_test()
    problems = Checker(ROOT, run="--no-run" not in argv).check_all()
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in the documented commands and links")
        return 1
    print("documented commands and links: all good")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
