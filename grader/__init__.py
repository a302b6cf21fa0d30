"""grader: automated grading of deep-learning-theory homework."""

__version__ = "0.1.0"
