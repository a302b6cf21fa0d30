"""The service's race tests (tests/test_service_races.py) run longer: each race's rounds
multiplied by ``--scale``, on SQLite and PostgreSQL, against real servers with their default
grading workers. Prints each race's time and outcome; exit 1 if any race lost something.

    python benchmarks/race_service.py --scale 10          # about ten times the suite's rounds
    python benchmarks/race_service.py --scale 5 -k regrade
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=10, help="rounds of each race, times the suite's")
    parser.add_argument("-k", default="", help="only the races whose test name matches (pytest -k)")
    args = parser.parse_args()
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "tests" / "test_service_races.py"),
        "-p",
        "no:cacheprovider",
        "-q",
        "-rA",
        "--durations=0",
        *(("-k", args.k) if args.k else ()),
    ]
    started = time.monotonic()
    print(f"races at {args.scale}x the suite's rounds", flush=True)
    result = subprocess.run(command, env={**os.environ, "GRADER_RACE_SCALE": str(args.scale)}, check=False)
    outcome = "nothing lost" if result.returncode == 0 else "FAILED"
    print(f"all races: {time.monotonic() - started:.0f} s, {outcome}")
    return 0 if result.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
