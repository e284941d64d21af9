#!/usr/bin/env python3
"""Compiles and runs the README's host programs exactly as printed, so the README cannot rot.

A program is a fenced block right after a marker line naming its language:

    <!-- test: java -->
    ```java
    ...
    ```

and every program must print exactly the text of the one block marked ``<!-- test-output -->``.
Any ``c``, ``java``, ``csharp`` or ``python`` block without a marker is an error (an untested
snippet), as is a marker not followed by a block of its language.

Usage: readme_snippets.py README --out DIR --lib-dir DIR --include DIR --java-jar JAR
                          --dotnet-dll DLL --python PYTHON
Prints each program's result and "N passed, N failed"; exits non-zero on any failure.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
from typing import List, NamedTuple, Optional

LANGUAGES = ("c", "java", "csharp", "python")
MARKER = re.compile(r"^<!-- test: (\w+) -->$")
OUTPUT_MARKER = "<!-- test-output -->"
FENCE = re.compile(r"^```(\w*)\s*$")


class Snippet(NamedTuple):
    language: str
    line: int  # 1-based line of the code fence
    code: str


class ReadmeError(Exception):
    pass


def fenced_block(lines: List[str], start: int) -> (str, str, int):
    """The block whose opening fence is lines[start]: (info, code, index after the closing fence)."""
    m = FENCE.match(lines[start])
    if m is None:
        raise ReadmeError(f"line {start + 1}: expected a ``` fence")
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip() == "```":
            return m.group(1), "".join(lines[start + 1 : end]), end + 1
    raise ReadmeError(f"line {start + 1}: unclosed ``` fence")


def parse(text: str) -> (List[Snippet], str):
    """The marked programs and the expected output; raises ReadmeError for any unmarked or
    mismarked host block."""
    lines = text.splitlines(keepends=True)
    snippets: List[Snippet] = []
    expected: Optional[str] = None
    marked_fences = set()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\n")
        m = MARKER.match(line)
        if m is not None or line == OUTPUT_MARKER:
            if i + 1 >= len(lines):
                raise ReadmeError(f"line {i + 1}: marker at the end of the file")
            info, code, after = fenced_block(lines, i + 1)
            marked_fences.add(i + 1)
            if m is not None:
                language = m.group(1)
                if language not in LANGUAGES:
                    raise ReadmeError(f"line {i + 1}: unknown snippet language '{language}'")
                if info != language:
                    raise ReadmeError(f"line {i + 2}: a '{language}' marker before a '{info}' block")
                snippets.append(Snippet(language, i + 2, code))
            else:
                if expected is not None:
                    raise ReadmeError(f"line {i + 1}: a second {OUTPUT_MARKER}")
                expected = code
            i = after
            continue
        fence = FENCE.match(line)
        if fence is not None:
            info, _, after = fenced_block(lines, i)
            if info in LANGUAGES and i not in marked_fences:
                raise ReadmeError(
                    f"line {i + 1}: a ```{info} block without a '<!-- test: {info} -->' marker: "
                    f"every host snippet must be compiled and run"
                )
            i = after
            continue
        i += 1
    if not snippets:
        raise ReadmeError("no marked host snippets")
    if expected is None:
        raise ReadmeError(f"no {OUTPUT_MARKER} block")
    missing = set(LANGUAGES) - {s.language for s in snippets}
    if missing:
        raise ReadmeError(f"no snippet for {', '.join(sorted(missing))}")
    return snippets, expected


def run(cmd: List[str], cwd: str, env: Optional[dict] = None) -> str:
    """Runs cmd, returning stdout; raises with stderr on failure."""
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise ReadmeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


def build_and_run(s: Snippet, n: int, args) -> str:
    """Compiles and runs one snippet in its own directory; returns what it printed."""
    d = os.path.join(args.out, f"{s.language}-{n}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    env = dict(os.environ)
    env.pop("MEMBUDGET_LIBRARY", None)
    if s.language == "c":
        src = os.path.join(d, "example.c")
        write(src, s.code)
        run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", args.include, src, "-o", "example",
             "-L", args.lib_dir, "-lmembudget", f"-Wl,-rpath,{args.lib_dir}"], d)
        return run(["./example"], d, env)
    if s.language == "java":
        m = re.search(r"^public (?:final )?class (\w+)", s.code, re.M)
        if m is None:
            raise ReadmeError(f"line {s.line}: a Java snippet needs a public class")
        write(os.path.join(d, m.group(1) + ".java"), s.code)
        cp = f"{d}:{args.java_jar}:/usr/share/java/jna.jar"
        run(["javac", "-Xlint:all", "-Werror", "-cp", cp, "-d", d, m.group(1) + ".java"], d)
        # No -Dmembudget.library.path: the jar's bundled copy is used, as for a user.
        return run(["java", "-cp", cp, m.group(1)], d, env)
    if s.language == "csharp":
        write(os.path.join(d, "Example.cs"), s.code)
        shutil.copy(args.dotnet_dll, d)
        run(["mcs", "-nologo", "-warnaserror", "-r:Membudget.dll", "-out:Example.exe", "Example.cs"], d)
        env["LD_LIBRARY_PATH"] = args.lib_dir + os.pathsep + env.get("LD_LIBRARY_PATH", "")
        return run(["mono", "Example.exe"], d, env)
    write(os.path.join(d, "example.py"), s.code)
    # The installed package with its bundled library, as for a user.
    return run([args.python, "-W", "error::ResourceWarning", "example.py"], d, env)


def write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("readme")
    p.add_argument("--out", required=True)
    p.add_argument("--lib-dir", required=True)
    p.add_argument("--include", required=True)
    p.add_argument("--java-jar", required=True)
    p.add_argument("--dotnet-dll", required=True)
    p.add_argument("--python", required=True)
    args = p.parse_args()
    for name in ("out", "lib_dir", "include", "java_jar", "dotnet_dll", "python"):
        setattr(args, name, os.path.abspath(getattr(args, name)))
    with open(args.readme) as f:
        try:
            snippets, expected = parse(f.read())
        except ReadmeError as e:
            print(f"{args.readme}: {e}", file=sys.stderr)
            print("0 passed, 1 failed")
            return 1
    passed = failed = 0
    for n, s in enumerate(snippets, 1):
        try:
            out = build_and_run(s, n, args)
            if out != expected:
                raise ReadmeError(f"printed\n{out}instead of the README's output\n{expected}")
            passed += 1
            print(f"ok {s.language} snippet at {args.readme}:{s.line}")
        except (ReadmeError, OSError) as e:
            failed += 1
            print(f"FAIL {s.language} snippet at {args.readme}:{s.line}: {e}", file=sys.stderr)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
