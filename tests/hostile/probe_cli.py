"""``grader`` with the test-only ``hostile_probe`` answer type registered.

python -m tests.hostile.probe_cli grade CLASS -p PROBLEMS.yaml --out REPORTS --jobs 2
"""

from __future__ import annotations

import tests.hostile.probes  # noqa: F401  (registers the type before grader.spec is imported)
from grader.cli import main

if __name__ == "__main__":
    main()
