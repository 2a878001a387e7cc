#!/usr/bin/env python3
"""The ladder of layers (../shared/DESIGN.md), checked on every build.

Each quoted #include in lib/, drivers-glue/ and apps/ is resolved to the file it names; the
including file's layer must be allowed to use the included file's layer. A wrong-way include
prints one line per offence (file:line: layer X may not include Y's header) and fails, which
fails the build (lib/meson.build runs this as a build target).

  check_layers.py --root SRC [--stamp FILE]
"""
import argparse
import pathlib
import re
import sys

# Folder -> layer, most specific first.
LAYERS = [
    ("lib/net/", "net"),
    ("lib/base/", "base"),
    ("lib/tcp/", "tcp"),
    ("lib/engine/", "engine"),
    ("lib/include/pollux/", "api"),
    ("drivers-glue/include/pollux/", "startup"),
    ("drivers-glue/", "glue"),
    ("apps/", "apps"),
]

# What each layer may include. The public API's headers (api) hold plain types (addresses,
# counters, events, options) that the layers implement, so every layer may use them; they
# themselves include nothing internal. drivers-glue's include/pollux/runtime.hpp (startup)
# is the public start-up over it. Applications see only these two: the API is the whole
# interface an application needs.
ALLOWED = {
    "net": {"net", "api"},
    "base": {"net", "base", "api"},
    "tcp": {"net", "base", "tcp", "api"},
    "engine": {"net", "base", "tcp", "engine", "api"},
    "api": {"api"},
    "glue": {"net", "base", "tcp", "engine", "api", "startup", "glue"},
    "startup": {"api", "startup"},
    "apps": {"api", "startup", "apps"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel: str):
    for prefix, layer in LAYERS:
        if rel.startswith(prefix):
            return layer
    return None


def resolve(root: pathlib.Path, includer: pathlib.Path, name: str):
    for base in (includer.parent, root / "lib", root / "lib/include", root / "drivers-glue",
                 root / "drivers-glue/include"):
        p = (base / name).resolve()
        if p.is_file():
            return p
    return None


def check(root: pathlib.Path) -> list[str]:
    problems = []
    for top in ("lib", "drivers-glue", "apps"):
        for f in sorted((root / top).rglob("*")):
            if f.suffix not in (".hpp", ".cpp", ".h"):
                continue
            rel = f.relative_to(root).as_posix()
            mine = layer_of(rel)
            if mine is None:
                continue
            for lineno, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = resolve(root, f, m.group(1))
                if target is None:
                    problems.append(f"{rel}:{lineno}: cannot resolve \"{m.group(1)}\"")
                    continue
                try:
                    trel = target.relative_to(root.resolve()).as_posix()
                except ValueError:
                    continue
                theirs = layer_of(trel)
                if theirs is not None and theirs not in ALLOWED[mine]:
                    problems.append(f"{rel}:{lineno}: layer '{mine}' may not include "
                                    f"'{trel}' (layer '{theirs}'): see lib/meson.build")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--stamp")
    args = ap.parse_args()
    problems = check(pathlib.Path(args.root))
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"check_layers: {len(problems)} include(s) go the wrong way", file=sys.stderr)
        return 1
    if args.stamp:
        pathlib.Path(args.stamp).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
