#!/usr/bin/env python3
"""Compile the built-in NOVA rules (python/nova_session/guard/rules/nova/*.nov) into the document the
kernels read (rules/nova/compiled.json), so that a hook process parses no rule file.

    python tools/compile_nova_rules.py            # regenerate compiled.json
    python tools/compile_nova_rules.py --check    # fail if compiled.json is stale

Deterministic: the same rule files give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

from nova_session.guard import nova, scan  # noqa: E402 - after the path above


def compiled() -> bytes:
    rules, problems = scan.load(scan.builtin_files())
    if problems:
        raise SystemExit("built-in rules refused:\n" + "\n".join(problems))
    with open(os.path.join(scan.BUILTIN_DIR, "confusables.json"), encoding="utf-8") as handle:
        table = json.load(handle)
    document = nova.compile_rules(rules, table)
    return (json.dumps(document, ensure_ascii=True, indent=1) + "\n").encode("ascii")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if compiled.json is not what the rules compile to")
    options = parser.parse_args()
    data = compiled()
    if options.check:
        with open(scan.COMPILED, "rb") as handle:
            if handle.read() != data:
                print("%s is stale: run tools/compile_nova_rules.py" % scan.COMPILED, file=sys.stderr)
                return 1
        return 0
    with open(scan.COMPILED, "wb") as handle:
        handle.write(data)
    print("wrote %s (%d rules)" % (scan.COMPILED, len(json.loads(data)["rules"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
