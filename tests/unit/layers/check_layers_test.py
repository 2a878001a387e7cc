#!/usr/bin/env python3
"""The layer check (scripts/check_layers.py) accepts the real tree and refuses a wrong-way
include: each case builds a small tree in a temporary folder and runs the checker on it."""
import pathlib
import subprocess
import sys
import tempfile

root = pathlib.Path(sys.argv[1])
checker = root / "scripts/check_layers.py"
failures = 0


def run(tree: pathlib.Path):
    return subprocess.run([sys.executable, str(checker), "--root", str(tree)],
                          capture_output=True, text=True)


def case(name, files, want_ok, want_text=""):
    global failures
    with tempfile.TemporaryDirectory() as d:
        tree = pathlib.Path(d)
        for rel, text in files.items():
            p = tree / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        r = run(tree)
        ok = (r.returncode == 0) == want_ok and want_text in r.stderr
        print(("PASS" if ok else "FAIL") + f": {name}")
        if not ok:
            print(r.stderr)
            failures += 1


base = {"lib/net/ipv4.hpp": "#pragma once\n", "lib/tcp/tcb.hpp": '#include "net/ipv4.hpp"\n',
        "lib/engine/engine.hpp": '#include "tcp/tcb.hpp"\n'}
case("the ladder upwards is accepted", base, True)
case("net including tcp fails", {**base, "lib/net/bad.cpp": '#include "tcp/tcb.hpp"\n'}, False,
     "lib/net/bad.cpp:1: layer 'net' may not include 'lib/tcp/tcb.hpp'")
case("tcp including engine fails", {**base, "lib/tcp/x.cpp": '\n#include "engine/engine.hpp"\n'},
     False, "lib/tcp/x.cpp:2: layer 'tcp' may not include")
case("base including tcp fails", {**base, "lib/base/q.hpp": '#include "tcp/tcb.hpp"\n'}, False,
     "layer 'base'")
case("the public API including tcp fails",
     {**base, "lib/include/pollux/tcp.hpp": '#include "tcp/tcb.hpp"\n'}, False, "layer 'api'")
apps_tree = {**base, "lib/include/pollux/stack.hpp": "#pragma once\n",
             "drivers-glue/runtime.hpp": '#include "engine/engine.hpp"\n',
             "drivers-glue/include/pollux/runtime.hpp": '#include "pollux/stack.hpp"\n',
             "apps/srv/app.hpp": "#pragma once\n",
             "apps/srv/main.cpp": '#include "pollux/runtime.hpp"\n#include "pollux/stack.hpp"\n'
                                  '#include "app.hpp"\n'}
case("an app using the public API, the public start-up and its own files is accepted",
     apps_tree, True)
case("an app including tcp fails", {**apps_tree, "apps/srv/bad.cpp": '#include "tcp/tcb.hpp"\n'},
     False, "apps/srv/bad.cpp:1: layer 'apps' may not include 'lib/tcp/tcb.hpp'")
case("an app including drivers-glue's internals fails",
     {**apps_tree, "apps/srv/glue.cpp": '#include "runtime.hpp"\n'}, False, "layer 'apps'")
case("the public start-up including the engine fails",
     {**apps_tree, "drivers-glue/include/pollux/bad.hpp": '#include "engine/engine.hpp"\n'},
     False, "layer 'startup'")
case("an include that names no file fails", {**base, "lib/tcp/y.cpp": '#include "tcp/nope.hpp"\n'},
     False, "cannot resolve")
r = run(root)
print(("PASS" if r.returncode == 0 else "FAIL") + ": the real tree keeps the ladder")
if r.returncode != 0:
    print(r.stderr)
    failures += 1
sys.exit(1 if failures else 0)
