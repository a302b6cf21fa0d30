"""LTI 1.3: the grading service as a tool in Canvas and Moodle (docs/lms.md).

``registration`` reads the platforms from ``COURSE_DIR/lti.yaml``; ``keys`` holds the
tool's own RSA keys (the current one, and those rotated out while in their grace) and
its JWKS; ``launch`` runs the OIDC login and validates the platform's ``id_token``;
``routes`` is the small router the app includes. LTI Advantage: ``deep_linking`` (a TA
picks the assignment a new link opens), ``courses`` (the line items and members launches
announce), ``scores`` and ``passback`` (grade passback: an outbox written with each
verdict, posted with retries), ``roster`` (Names and Role Provisioning) and ``staff``
(the TA's ``/ta/lms`` page); ``oauth`` gets their access tokens.
"""
