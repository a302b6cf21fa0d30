"""LTI 1.3: the grading service as a tool in Canvas and Moodle (docs/lms.md).

``registration`` reads the platforms from ``COURSE_DIR/lti.yaml``; ``keys`` holds the
tool's own RSA key and its JWKS; ``launch`` runs the OIDC login and validates the
platform's ``id_token``; ``routes`` is the small router the app includes.
"""
