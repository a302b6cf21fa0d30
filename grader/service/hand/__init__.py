"""The grading view's helpers (docs/service.md, "The grading view"): request bodies, pseudonyms
and the view model (its progress: :mod:`grader.hand.progress`). Their routes are in
:mod:`grader.service.routes.hand`, their reads and writes in :mod:`grader.service.crud`; the
package imports nothing itself."""
