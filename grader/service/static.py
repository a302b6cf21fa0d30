"""``/static/``: the files pages need besides themselves (KaTeX and grader's script that
typesets formulas with it, :mod:`grader.reporting.typeset`), read once, served from memory to
anyone (they are a public library), cached by browsers for a day."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from grader.reporting.typeset import SERVICE_ASSETS, STATIC

router = APIRouter(include_in_schema=False)
TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2"}
CACHE = "public, max-age=86400"


def _files() -> dict[str, tuple[bytes, str]]:
    found = {}
    for path in STATIC.rglob("*"):
        if path.is_file() and path.suffix in TYPES:
            found[path.relative_to(STATIC).as_posix()] = (path.read_bytes(), TYPES[path.suffix])
    return found


FILES = _files()


@router.get(SERVICE_ASSETS + "{name:path}")
async def static_file(name: str) -> Response:
    """One of :data:`FILES` (nothing else: no path is ever joined to a folder), or 404."""
    found = FILES.get(name)
    if found is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    content, media = found
    return Response(content, media_type=media, headers={"Cache-Control": CACHE})
