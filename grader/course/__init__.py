"""A course as the service runs it, with no table and no request: ``course.yaml`` and the
problem folder as read (:mod:`.files`), the late policy (:mod:`.late`), what a student may see
(:mod:`.visibility`), each student's variant and sheet (:mod:`.variant_key`), times as people
read them (:mod:`.shown`), a hand-in as read and a PDF's pages as shown (:mod:`.handed_in`), a
TA's hand grade, a rubric item's edit and a regrade request as sent (:mod:`.grades`,
:mod:`.rubric`, :mod:`.regrade_requests`), anonymous
grading's pseudonyms (:mod:`.anonymous`), the optional dependency a report waits for
(:mod:`.undecided`), the gradebook exports (:mod:`.exports`), the grading view's order
(:mod:`.grading_view`), who may be a user and the class roster (:mod:`.roster`) and the LMS
platforms of ``lti.yaml`` (:mod:`.lti`). :mod:`grader.service` keeps it in step with the database
and serves it."""
