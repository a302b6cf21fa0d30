"""The service's pages as Jinja2 templates (``templates/``), escaped by default: a value becomes
markup only through a filter that made it so (``math``, ``code``, ``prose``, ``time``) or a
partial rendered here. Every page is its body in ``base.html`` (``templated``); the report pages
the reporting package builds get the same navigation bar and partials (``fragment``)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from grader.core.report import points_value, shown_points
from grader.course.shown import shown_time
from grader.mathlang.wording import counted
from grader.reporting.html import CSS, MATH_MARK, page_policy
from grader.reporting.typeset import SERVICE_ASSETS, asset_head, asset_scripts, math_html, prose_math
from grader.reporting.written import code_html
from grader.service.models import is_staff

ENV = Environment(  # the service's templates, and grader similar's (the similar-sheets pages)
    loader=ChoiceLoader(
        [PackageLoader("grader.service", "templates"), PackageLoader("grader.similarity", "templates")]
    ),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def asset(name: str) -> str:
    """A stylesheet or script of ``templates/assets/``, held inline (allowed by its hash)."""
    return (resources.files("grader.service") / "templates" / "assets" / name).read_text("utf-8")


SERVICE_CSS = asset("service.css")  # the bar, forms and buttons the service adds to a page
PAGE_CSS = CSS + SERVICE_CSS


def time_html(
    moment: dt.datetime | None, zone: zoneinfo.ZoneInfo | None = None, empty: str = "none"
) -> Markup:
    """``<time>`` showing the time in ``zone``, with UTC on hover."""
    if moment is None:
        return Markup.escape(empty)
    return fragment("time.html", utc=moment.astimezone(dt.UTC), shown=shown_time(moment, zone))


ENV.filters.update(
    math=lambda latex, display=False: Markup(math_html(str(latex), display=display)),
    code=lambda text: Markup(code_html(str(text))),
    prose=lambda text: Markup(prose_math(str(text), line_breaks=True)),
    time=time_html,
    counted=counted,  # 1 point, 2.5 points
    points=shown_points,  # a score as a page shows it
    points_value=points_value,  # a score as a form's input holds it
)


def render(name: str, /, **context: Any) -> str:
    return ENV.get_template(name).render(**context)


def fragment(name: str, /, **context: Any) -> Markup:
    return Markup(render(name, **context))


def html(document: str, css: str = PAGE_CSS, script: str = "", status: int = 200) -> HTMLResponse:
    """The page, with a Content-Security-Policy that allows its stylesheet and script by hash,
    KaTeX's files from ``/static/``, and nothing else."""
    policy = page_policy(css, script) + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    return HTMLResponse(document, status_code=status, headers={"Content-Security-Policy": policy})


def attachment(
    content: str | bytes, filename: str, media_type: str = "text/plain", **headers: str
) -> Response:
    """A download: ``content`` as the file ``filename``."""
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(content, media_type=media_type, headers=headers)


def csrf_input(token: str) -> Markup:
    return fragment("csrf.html", token=token)


def csrf_field(request: Request) -> Markup:
    """The CSRF input of the browser's session (empty without a session)."""
    session = getattr(request.state, "web_session", None)
    return csrf_input(session.csrf_token if session is not None else "")


def nav(request: Request, user: Any | None) -> Markup:
    staff = user is not None and is_staff(user)
    return fragment("nav.html", user=user, staff=staff, csrf=csrf_field(request) if user is not None else "")


def templated(
    request: Request,
    user: Any | None,
    template: str,
    title: str,
    /,
    *,
    navigation: bool = True,
    **options: Any,
) -> HTMLResponse:
    """:func:`page_response` with the navigation bar (``navigation``)."""
    return page_response(template, title, nav=nav(request, user) if navigation else "", **options)


def page_response(
    template: str,
    title: str,
    /,
    *,
    nav: str = "",
    status: int = 200,
    script: str = "",
    css: str = PAGE_CSS,
    refresh: int | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page: the template's body in ``base.html`` with its stylesheet, script and (when it shows
    formulas) KaTeX, reloading itself every ``refresh`` seconds (live without JavaScript)."""
    body = render(template, **context)
    formulas = MATH_MARK in body
    document = render(
        "base.html",
        title=title,
        css=Markup(css),
        script=Markup(script),
        policy=page_policy(css, script),
        nav=Markup(nav),
        body=Markup(body),
        refresh=refresh,
        head=Markup(asset_head(SERVICE_ASSETS) if formulas else ""),
        scripts=Markup(asset_scripts(SERVICE_ASSETS) if formulas else ""),
    )
    return html(document, css=css, script=script, status=status)


def placed(document: str, anchor: str, piece: str, before: bool = False) -> str:
    """``document`` (a page the reporting package built) with ``piece`` just after its first
    ``anchor`` (``before``: just before it). Plain strings: a ``Markup`` added to a ``str``
    would escape the page around it."""
    text = str(piece)
    return document.replace(anchor, text + anchor if before else anchor + text, 1)


def refreshing(document: str, seconds: int | None) -> str:
    if not seconds:
        return document
    return placed(document, "<head>\n", str(fragment("refresh.html", seconds=seconds)) + "\n")
