"""The verdicts of two gradings of one class, compared (issue 59: a speed change must not move one).

    python benchmarks/diff_verdicts.py OLD_OUT NEW_OUT

``OLD_OUT`` and ``NEW_OUT`` are the ``--out`` folders of ``grader grade`` of the same class
by the old and the new code (``benchmarks/make_class.py CLASS --variety`` makes a class).
Every part of every ``*.json`` report is compared on its status, score, feedback and
certificate, and every page and plot (``*.html``, ``*.md``, ``*.svg``) byte for byte; the differences are
printed and the exit status is 1 when there is one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FIELDS = ("status", "score", "max_score", "feedback", "certificate", "received")


def verdicts(report: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    return {part["id"]: {k: part.get(k) for k in FIELDS} for part in data.get("parts", [])}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    args = parser.parse_args()
    differences, parts, pages = 0, 0, 0
    old_files = {p.name for p in args.old.iterdir() if p.suffix in (".json", ".html", ".md", ".svg")}
    new_files = {p.name for p in args.new.iterdir() if p.suffix in (".json", ".html", ".md", ".svg")}
    for name in sorted(old_files ^ new_files):
        print(f"only in {'old' if name in old_files else 'new'}: {name}")
        differences += 1
    for name in sorted(old_files & new_files):
        old, new = args.old / name, args.new / name
        if name.endswith(".json") and name.startswith("student-"):
            a, b = verdicts(old), verdicts(new)
            parts += len(a)
            for part in sorted(set(a) | set(b)):
                if a.get(part) != b.get(part):
                    differences += 1
                    print(f"{name} {part}:\n  old {a.get(part)}\n  new {b.get(part)}")
        elif name.endswith((".html", ".md", ".svg")):
            pages += 1
            if old.read_bytes() != new.read_bytes():
                differences += 1
                print(f"{name}: the page differs")
    status = "the same" if not differences else f"{differences} differences"
    print(f"{parts} verdicts and {pages} pages compared: {status}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
