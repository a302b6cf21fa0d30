"""grader: automated grading of deep-learning-theory homework."""

__version__ = "0.1.0"
# The name pip knows this project by ("grader" on PyPI is another, older project);
# the package is still ``import grader`` and the command ``grader``.
DISTRIBUTION = "dl-theory-grader"
