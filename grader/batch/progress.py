"""Where the batch's progress display was (grader.reporting.progress)."""

from grader.reporting.progress import batch_progress as batch_progress
