"""The math language: one safe parser for LaTeX and plain text (see contract section 3)."""
