"""The problem sets and seed submissions that ship with grader (``grader serve --demo``, the
examples of the docs). In the repository these are links to ``problems/`` and ``submissions/``;
an installed grader carries copies as package data, so the demo runs from any folder."""

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent
