"""The grading view's helpers (docs/service.md, "The grading view"): request bodies,
pseudonyms, progress and the view model. Their routes are in :mod:`grader.service.routes.hand`,
their reads and writes in :mod:`grader.service.crud`; the package imports nothing itself."""
