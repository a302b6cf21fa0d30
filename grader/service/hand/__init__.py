"""The grading view's model (docs/service.md, "The grading view"; its progress:
:mod:`grader.hand.progress`, its request bodies and pseudonyms: :mod:`grader.course`). Its routes
are in :mod:`grader.service.routes.hand`, its reads and writes in :mod:`grader.service.crud`; the
package imports nothing itself."""
