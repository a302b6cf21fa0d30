"""The service's pages as Jinja2 templates (``templates/``), escaped by default: a value
becomes markup only through a filter that made it so (``math``, ``code``, ``prose``, ``time``)
or a ``Markup`` a Python function returned. ``base.html`` holds the document, its policy and
the navigation bar once; a page extends it.

Pages not yet moved here build their HTML in Python (:mod:`grader.service.pages`)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from grader.reporting.html import MATH_MARK, page_policy
from grader.reporting.typeset import SERVICE_ASSETS, asset_head, asset_scripts, math_html, prose_math
from grader.reporting.written import code_html
from grader.service.shown import time_html

ENV = Environment(
    loader=PackageLoader("grader.service", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _math(latex: str, display: bool = False) -> Markup:
    return Markup(math_html(str(latex), display=display))


def _code(text: str) -> Markup:
    return Markup(code_html(str(text)))


def _prose(text: str) -> Markup:
    return Markup(prose_math(str(text), line_breaks=True))


def _time(moment: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None, empty: str = "none") -> Markup:
    return Markup(time_html(moment, zone, empty))


ENV.filters.update(math=_math, code=_code, prose=_prose, time=_time)


def render(name: str, **context: Any) -> str:
    """A template of ``templates/``, filled in (a partial, or a page that extends ``base.html``)."""
    return ENV.get_template(name).render(**context)


def render_page(
    name: str, *, title: str, css: str, nav: str, script: str = "", **context: Any
) -> tuple[str, str]:
    """A whole page and its Content-Security-Policy: the template's body in ``base.html``, with
    the page's stylesheet and script (allowed by hash) and, when it shows formulas, KaTeX."""
    body = render(name, **context)
    formulas = MATH_MARK in body
    document = render(
        "base.html",
        title=title,
        css=Markup(css),
        script=Markup(script),
        policy=page_policy(css, script),
        nav=Markup(nav),
        body=Markup(body),
        head=Markup(asset_head(SERVICE_ASSETS) if formulas else ""),
        scripts=Markup(asset_scripts(SERVICE_ASSETS) if formulas else ""),
    )
    return document, page_policy(css, script)
