#!/usr/bin/env python3
"""Functions in runtime-lib/src longer than the project's limit (80 lines).

A function's length runs from the line of its `fn` keyword to the line of its closing brace,
both included (attributes and doc comments before it are not counted). Methods, trait default
methods and nested functions count as functions; a nested function's lines also count in the
function around it. Closures do not count separately. Test code is left out, since the rule is
about the library's code: items under `#[cfg(test)]` or `#[test]` (an inline `mod tests {..}`,
a function) and the files of an out-of-line `#[cfg(test)] mod NAME;` (NAME.rs, NAME/mod.rs and
everything under NAME/).

Functions still over the limit are listed in scripts/long-functions.allow, one per line:
`PATH::QUALIFIED_NAME LENGTH` (QUALIFIED_NAME: the impl's or trait's type, or the enclosing
function, then the name; `#2` for a second function with the same key). The check fails when a
function over the limit is not listed, when a listed one is longer or shorter than its entry,
and when an entry names a function that no longer exists or is now within the limit: the list
only shrinks, and each entry only goes down. `--update-allow` rewrites the list to the current
lengths, refusing when that would add an entry or raise one (unless the list does not exist).

usage: scripts/long-functions.py [--limit N] [--top N] [--update-allow] [--allow FILE] [DIR...]
Exit status 0 when the check passes, 1 when it fails, 2 on a usage or parse error.
"""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIRS = ["runtime-lib/src"]
DEFAULT_ALLOW = "scripts/long-functions.allow"


class ParseError(Exception):
    pass


def ident_start(c):
    return c.isalpha() or c == "_"


def ident_char(c):
    return c.isalnum() or c == "_"


def lex(text, path):
    """Tokens (kind, value, line) of Rust source: 'id' identifiers and keywords, 'p' one
    punctuation character, 'lit' string/char/number literals, 'lt' lifetimes and labels.
    Comments and whitespace are dropped."""
    toks = []
    i, n, line = 0, len(text), 1

    def fail(msg):
        raise ParseError(f"{path}:{line}: {msg}")

    def skip_string(j):
        # j is just after the opening quote; returns the index after the closing one.
        nonlocal line
        while j < n:
            c = text[j]
            if c == "\\":
                if j + 1 < n and text[j + 1] == "\n":
                    line += 1
                j += 2
                continue
            if c == "\n":
                line += 1
            if c == '"':
                return j + 1
            j += 1
        fail("unterminated string")

    def skip_raw_string(j):
        # j is at the first '#' or '"' after the r prefix.
        nonlocal line
        hashes = 0
        while j < n and text[j] == "#":
            hashes += 1
            j += 1
        if j >= n or text[j] != '"':
            return None
        close = '"' + "#" * hashes
        end = text.find(close, j + 1)
        if end < 0:
            fail("unterminated raw string")
        line += text.count("\n", j, end)
        return end + len(close)

    def skip_char(j):
        # j is at the opening quote of a char literal known to be one.
        j += 1
        if text[j] == "\\":
            j += 2
            while j < n and text[j] != "'":
                j += 1
        else:
            j += 1
        if j >= n or text[j] != "'":
            fail("bad char literal")
        return j + 1

    def is_char_literal(j):
        # A quote at j starts a char literal ('a', '\n', '\u{..}', '{') rather than a
        # lifetime or a label ('a, 'static, 'outer:).
        if j + 1 >= n:
            return False
        if text[j + 1] == "\\":
            return True
        return j + 2 < n and text[j + 2] == "'" and text[j + 1] != "\n"

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while depth:
                if j >= n:
                    fail("unterminated block comment")
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    line += text[j] == "\n"
                    j += 1
            i = j
        elif c == '"':
            start = line
            i = skip_string(i + 1)
            toks.append(("lit", "str", start))
        elif c == "'":
            if is_char_literal(i):
                i = skip_char(i)
                toks.append(("lit", "char", line))
            else:
                j = i + 1
                while j < n and ident_char(text[j]):
                    j += 1
                if j == i + 1:
                    fail("stray quote")
                toks.append(("lt", text[i:j], line))
                i = j
        elif ident_start(c):
            j = i
            while j < n and ident_char(text[j]):
                j += 1
            word = text[i:j]
            start = line
            if word in ("r", "br", "cr") and j < n and text[j] in '#"':
                end = skip_raw_string(j)
                if end is not None:
                    toks.append(("lit", "str", start))
                    i = end
                    continue
                if word == "r" and text[j] == "#":
                    # A raw identifier: r#type.
                    k = j + 1
                    while k < n and ident_char(text[k]):
                        k += 1
                    toks.append(("id", text[j + 1 : k], start))
                    i = k
                    continue
            if word in ("b", "c") and j < n and text[j] == '"':
                i = skip_string(j + 1)
                toks.append(("lit", "str", start))
                continue
            if word == "b" and j < n and text[j] == "'":
                i = skip_char(j)
                toks.append(("lit", "char", start))
                continue
            toks.append(("id", word, start))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (ident_char(text[j]) or (text[j] == "." and j + 1 < n and text[j + 1].isdigit())):
                j += 1
            toks.append(("lit", "num", line))
            i = j
        else:
            toks.append(("p", c, line))
            i += 1
    return toks


def attr_is_test(tokens):
    """`#[test]`, `#[cfg(test)]`, `#[cfg(all(test, ..))]`; not `#[cfg(not(test))]`."""
    words = [v for k, v, _ in tokens if k == "id"]
    if words == ["test"]:
        return True
    return bool(words) and words[0] == "cfg" and "test" in words and "not" not in words


def impl_self_type(toks, i, end):
    """The self type's name of the `impl` at toks[i] whose body opens at toks[end]."""
    j, depth = i + 1, 0
    if j < end and toks[j][1] == "<":
        # impl<'a, T: X> ...: skip the generic parameters.
        while j < end:
            if toks[j][1] == "<":
                depth += 1
            elif toks[j][1] == ">" and toks[j - 1][1] != "-":
                depth -= 1
                if depth == 0:
                    j += 1
                    break
            j += 1
    start, depth = j, 0
    for k in range(j, end):
        v = toks[k][1]
        if v == "<":
            depth += 1
        elif v == ">" and toks[k - 1][1] != "-":
            depth -= 1
        elif depth == 0 and toks[k][0] == "id" and v == "for":
            start = k + 1
        elif depth == 0 and toks[k][0] == "id" and v == "where":
            end = k
            break
    name = None
    depth = 0
    for k in range(start, end):
        kind, v, _ = toks[k]
        if v == "<":
            depth += 1
        elif v == ">" and toks[k - 1][1] != "-":
            depth -= 1
        elif depth == 0 and kind == "id" and v not in ("dyn", "mut", "const", "unsafe", "impl"):
            name = v
    return name or "impl"


def find_body(toks, i):
    """Index of the `{` that opens the body of the item starting at toks[i], or None when
    a `;` ends it first (a declaration without a body)."""
    depth = 0
    for j in range(i, len(toks)):
        kind, v, _ = toks[j]
        if kind != "p":
            continue
        if v in "([":
            depth += 1
        elif v in ")]":
            depth -= 1
        elif depth == 0 and v == ";":
            return None
        elif depth == 0 and v == "{":
            return j
    return None


def functions(path, rel):
    """(qualified name, fn line, length) of each non-test function of one file, and the
    names of its out-of-line test modules."""
    with open(path, encoding="utf-8") as f:
        toks = lex(f.read(), rel)
    found, test_mods = [], []
    # The stack of open braces: (kind, name, test, fn line) where kind is 'fn', 'scope'
    # (impl/trait: name qualifies methods), or 'block'.
    stack = []
    pending_attrs = []
    opens = {}  # index of a '{' -> what it opens
    i = 0
    while i < len(toks):
        kind, v, line = toks[i]
        in_test = any(s[2] for s in stack)
        if kind == "p" and v == "#" and i + 1 < len(toks) and toks[i + 1][1] in "[!":
            j = i + 1 if toks[i + 1][1] == "[" else i + 2
            depth, k = 0, j
            while k < len(toks):
                if toks[k][1] == "[":
                    depth += 1
                elif toks[k][1] == "]":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            if toks[i + 1][1] == "[":
                pending_attrs.append(toks[j + 1 : k])
            i = k + 1
            continue
        is_test = any(attr_is_test(a) for a in pending_attrs)
        if kind == "id" and v == "fn" and i + 1 < len(toks) and toks[i + 1][0] == "id":
            body = find_body(toks, i + 2)
            if body is not None:
                opens[body] = ("fn", toks[i + 1][1], is_test, line)
            pending_attrs = []
            i += 2
            continue
        if kind == "id" and v in ("impl", "trait") and not (i > 0 and toks[i - 1][1] in ("&", "<", "(", ",", ":", "-")):
            body = find_body(toks, i + 1)
            if body is not None:
                name = impl_self_type(toks, i, body) if v == "impl" else toks[i + 1][1]
                opens[body] = ("scope", name, is_test, line)
            pending_attrs = []
            i += 1
            continue
        if kind == "id" and v == "mod" and i + 2 < len(toks) and toks[i + 1][0] == "id":
            nxt = toks[i + 2][1]
            if nxt == ";" and is_test and not in_test:
                test_mods.append(toks[i + 1][1])
            elif nxt == "{":
                opens[i + 2] = ("block", toks[i + 1][1], is_test, line)
            pending_attrs = []
            i += 1
            continue
        if kind == "p" and v == "{":
            what = opens.get(i) or ("block", None, is_test, line)
            stack.append(what)
            pending_attrs = []
        elif kind == "p" and v == "}":
            if not stack:
                raise ParseError(f"{rel}:{line}: unbalanced '}}'")
            what = stack.pop()
            if what[0] == "fn" and not (what[2] or any(s[2] for s in stack)):
                quals = [s[1] for s in stack if s[0] in ("fn", "scope")]
                found.append(("::".join(quals + [what[1]]), what[3], line - what[3] + 1))
        elif kind == "p" and v == ";":
            pending_attrs = []
        i += 1
    if stack:
        raise ParseError(f"{rel}: unbalanced '{{' (opened at line {stack[-1][3]})")
    return found, test_mods


def module_dir(path):
    """The directory holding the out-of-line child modules of the module in file path."""
    base = os.path.basename(path)
    if base in ("mod.rs", "lib.rs", "main.rs"):
        return os.path.dirname(path)
    return os.path.splitext(path)[0]


def scan(dirs):
    """{key: (rel path, line, length)} of every non-test function under dirs."""
    files = []
    for d in dirs:
        for root, subdirs, names in os.walk(os.path.join(REPO, d)):
            subdirs.sort()
            files += [os.path.join(root, n) for n in sorted(names) if n.endswith(".rs")]
    excluded = set()
    result = {}
    for path in files:
        if any(path == e or path.startswith(e + os.sep) for e in excluded):
            continue
        rel = os.path.relpath(path, REPO)
        found, test_mods = functions(path, rel)
        for m in test_mods:
            mdir = os.path.join(module_dir(path), m)
            excluded.update([mdir + ".rs", mdir])
        for name, line, length in found:
            key = f"{rel}::{name}"
            n = 2
            while key in result:
                key = f"{rel}::{name}#{n}"
                n += 1
            result[key] = (rel, line, length)
    # A file seen before its test module's declaration (sorted order) is dropped here.
    return {k: v for k, v in result.items() if not any(
        os.path.join(REPO, v[0]) == e or os.path.join(REPO, v[0]).startswith(e + os.sep) for e in excluded)}


def read_allow(path):
    allow = {}
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            text = raw.split("#", 1)[0].strip() if raw.lstrip().startswith("#") else raw.strip()
            if not text:
                continue
            parts = text.rsplit(None, 1)
            if len(parts) != 2 or not parts[1].isdigit():
                raise ParseError(f"{path}:{no}: expected 'PATH::NAME LENGTH', got {raw.strip()!r}")
            allow[parts[0]] = int(parts[1])
    return allow


def write_allow(path, funcs, limit):
    over = sorted((k, v[2]) for k, v in funcs.items() if v[2] > limit)
    with open(path, "w") as f:
        f.write(f"# Functions of runtime-lib/src over {limit} lines, with their length: the list of\n")
        f.write("# scripts/long-functions.py. It may only shrink: shorten a function, then lower or\n")
        f.write("# remove its entry (scripts/long-functions.py --update-allow does both).\n")
        for key, length in over:
            f.write(f"{key} {length}\n")
    return len(over)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--top", type=int, default=10, help="how many of the longest to print")
    ap.add_argument("--allow", default=os.path.join(REPO, DEFAULT_ALLOW))
    ap.add_argument("--update-allow", action="store_true")
    ap.add_argument("dirs", nargs="*", default=DEFAULT_DIRS)
    args = ap.parse_args()
    try:
        funcs = scan(args.dirs)
        allow = read_allow(args.allow)
    except (ParseError, OSError) as e:
        print(f"long-functions: {e}", file=sys.stderr)
        return 2

    longest = sorted(funcs.items(), key=lambda kv: (-kv[1][2], kv[0]))
    print(f"long-functions: the {min(args.top, len(longest))} longest of {len(funcs)} functions"
          f" (limit {args.limit} lines):")
    for key, (rel, line, length) in longest[: args.top]:
        print(f"  {length:4d}  {rel}:{line}  {key.split('::', 1)[1]}")

    problems = []
    over = {k: v[2] for k, v in funcs.items() if v[2] > args.limit}
    listed = allow or {}
    for key, length in sorted(over.items()):
        if key not in listed:
            problems.append(f"{key}: {length} lines, over the limit and not in the allow-list")
        elif length > listed[key]:
            problems.append(f"{key}: grew from {listed[key]} to {length} lines")
        elif length < listed[key]:
            problems.append(f"{key}: {length} lines now, its entry says {listed[key]}: lower it")
    for key, length in sorted(listed.items()):
        if key not in funcs:
            problems.append(f"{key}: listed but no longer exists (renamed or removed): remove the entry")
        elif key not in over:
            problems.append(f"{key}: {funcs[key][2]} lines now, within the limit: remove the entry")

    if args.update_allow:
        if allow is not None:
            raised = [p for p in problems if "grew" in p or "not in the allow-list" in p]
            if raised:
                print("long-functions: not updating the allow-list, it may only shrink:", file=sys.stderr)
                for p in raised:
                    print(f"  {p}", file=sys.stderr)
                return 1
        n = write_allow(args.allow, funcs, args.limit)
        print(f"long-functions: wrote {os.path.relpath(args.allow)} ({n} functions over the limit)")
        return 0
    if problems:
        print(f"long-functions: {len(problems)} problem(s) against {os.path.relpath(args.allow)}:",
              file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        print("Shorten the function (the project's limit is about 80 lines); an entry that is only"
              " out of date goes down with --update-allow.", file=sys.stderr)
        return 1
    print(f"long-functions: ok ({len(over)} over the limit, all in the allow-list at their length)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
