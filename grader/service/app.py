"""The ASGI app: ``create_app(settings)`` -> FastAPI, with the API, the pages, health, metrics,
KaTeX's files, security headers on every response and errors as JSON (or as pages)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import grader
from grader.engine import preview
from grader.pdf.limits import PdfLimits
from grader.reporting.typeset import SERVICE_ASSETS, STATIC
from grader.reporting.withhold import warm as warm_withholding
from grader.service import metrics
from grader.service.auth import SAFE_METHODS, authenticate
from grader.service.crud import queue
from grader.service.errors import ApiError, out_of_service, unavailable
from grader.service.lti.routes import install as install_lti
from grader.service.lti.scores import database_hooks as lti_database_hooks
from grader.service.models import is_staff
from grader.service.routes import hand as hand_routes
from grader.service.routes import regrade_requests
from grader.service.routes.accounts import router as accounts_router
from grader.service.routes.api import router as api_router
from grader.service.routes.exports import router as exports_router
from grader.service.routes.pages import router as pages_router
from grader.service.routes.pdf_pages import api_router as pdf_router
from grader.service.routes.pdf_pages import router as pdf_pages_router
from grader.service.routes.similarity import LINK as similarity_link
from grader.service.routes.similarity import router as similarity_router
from grader.service.service import Service
from grader.service.settings import Settings
from grader.service.templating import templated

log = logging.getLogger("grader.service")
access_log = logging.getLogger("grader.service.access")

CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"  # pages set their own
HEALTH_CHECK_SECONDS = 2.0  # /healthz waits this long for the database before it says "down"
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# /static/: KaTeX and grader's script that typesets with it (a public library), read once
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".woff2": "font/woff2"}
STATIC_FILES = {
    path.relative_to(STATIC).as_posix(): (path.read_bytes(), STATIC_TYPES[path.suffix])
    for path in STATIC.rglob("*")
    if path.is_file() and path.suffix in STATIC_TYPES
}
# An error page's title, in words a person reads (the status number is below it).
ERROR_TITLES = {
    400: "The request could not be read",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    408: "The upload took too long",
    409: "Changed meanwhile",
    413: "Too large",
    415: "Not a kind of file grader takes",
    422: "That could not be used",
    429: "Too many at once: wait a moment",
    500: "Something went wrong",
    503: "The service cannot answer right now",
}


class BodyLimit:
    """413 for a body past ``limit`` bytes as it arrives (a chunked upload has no Content-Length);
    408 for one not all there ``seconds`` after the route first asked for it (a slow client)."""

    def __init__(self, app: ASGIApp, limit: int, seconds: float, pdf_limit: int = 0):
        self.app = app
        self.limit = limit
        self.pdf_limit = max(limit, pdf_limit)  # a PDF hand-in's route: a phone scan is megabytes
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        deadline: float | None = None
        complete = False
        path = str(scope.get("path", ""))
        pdf = path.startswith(("/api/v1/assignments/", "/assignments/")) and path.endswith("/pdf")
        limit = self.pdf_limit if pdf else self.limit

        async def limited() -> Message:
            nonlocal received, deadline, complete
            if complete:  # past the body: what is left to hear is the client's disconnect
                return await receive()
            deadline = deadline or asyncio.get_running_loop().time() + self.seconds
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise ApiError(408, f"the request body did not arrive within {self.seconds:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ApiError(413, f"the request body is over the limit of {limit:,} bytes")
                complete = not message.get("more_body", False)
            return message

        await self.app(scope, limited, send)


class HeadersAndLog:
    """Security headers on every response, a JSON access-log line and the request counter. Plain
    ASGI: Starlette's ``BaseHTTPMiddleware`` (a task and a queue) cost each request a millisecond."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500
        response_started = False

        async def with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except ApiError as exc:  # the body limit's 413 or 408, raised while a route reads the body
            if response_started:
                raise
            await error_response(Request(scope), exc)(scope, receive, with_headers)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            metrics.request_served(route, status)
            ms = round((time.monotonic() - started) * 1000, 1)
            access_log.info(
                json.dumps({"method": scope["method"], "route": route, "status": status, "ms": ms})
            )


def wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


async def with_user(request: Request) -> Request:
    """The request, with who is logged in looked up (in a request thread) for an error page whose
    route never did: its navigation bar is theirs; bare when the database cannot answer."""
    if wants_page(request) and not hasattr(request.state, "user"):
        try:
            await run_in_threadpool(authenticate, request)
        except (ApiError, SQLAlchemyError, OSError):
            request.state.user = None
    return request


def error_response(request: Request, error: ApiError) -> Response:
    """JSON for the API; for a browser, the same message as a page (the log-in page for a 401)."""
    if not wants_page(request):
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
    if error.status == 401:
        return RedirectResponse("/login", status_code=303)
    user = getattr(request.state, "user", None)
    heading = ERROR_TITLES.get(error.status, "Something went wrong")
    back = "/ta" if user is not None and is_staff(user) else "/"
    page: dict[str, Any] = {"heading": heading, "message": error.message, "code": error.status, "back": back}
    response = templated(request, user, "error.html", f"grader: {heading}", status=error.status, **page)
    response.headers.update(error.headers)
    return response


class DatabaseProbe:
    """/healthz's look at the database, in a thread of its own (a hung database may hold every
    request thread): a look still waiting is waited for again, so a long hang holds one thread."""

    def __init__(self, service: Service):
        self.service = service
        self.thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="grader-health")
        self.look: asyncio.Future[queue.QueueCounts] | None = None

    async def job_counts(self) -> queue.QueueCounts | None:
        """None when the database did not answer in time, or failed."""
        if self.look is None or self.look.done():
            self.look = asyncio.get_running_loop().run_in_executor(self.thread, self.service.job_counts)
            self.look.add_done_callback(_retrieved)
        try:
            return await asyncio.wait_for(asyncio.shield(self.look), HEALTH_CHECK_SECONDS)
        except (TimeoutError, SQLAlchemyError, OSError):
            return None

    def close(self) -> None:
        self.thread.shutdown(wait=False)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Take the outcome of a look nobody waited for to its end (asyncio logs it otherwise)."""
    if not future.cancelled():
        future.exception()


def health(service: Service, jobs: queue.QueueCounts | None) -> dict[str, Any]:
    """/healthz's answer, given the queue's counts (None: the database did not answer)."""
    notices = service.course.notices  # files of the course folder not in force
    full = saturated(service)
    trouble = service.grading_trouble()
    degraded = bool(notices) or trouble is not None
    body: dict[str, Any] = {
        "status": "down" if jobs is None else "saturated" if full else "degraded" if degraded else "ok",
        "grading_loop": trouble or "ok",  # why grading cannot make progress, while it cannot
        "version": grader.__version__,
        "database": "up" if jobs is not None else "down",
        "workers": "ready" if service.grading.ready.is_set() else "starting",
        "course_files": [notice.as_json() for notice in notices],
        "saturated": full,
    }
    if jobs is not None:
        body.update(jobs.as_json())  # the counts /queue shows, from the same look
    return body


def saturated(service: Service) -> dict[str, str]:
    """What is full now, each with its numbers: the checks in flight, the request threads."""
    full: dict[str, str] = {}
    if service.checks.full:
        full["checks"] = f"{service.checks.in_flight} of {service.checks.limit} in flight"
    threads = anyio.to_thread.current_default_thread_limiter().statistics()
    if threads.borrowed_tokens >= threads.total_tokens:
        busy = f"{threads.borrowed_tokens} of {threads.total_tokens} busy"
        full["request_threads"] = f"{busy}, {threads.tasks_waiting} requests waiting"
    return full


async def warm_up(app: FastAPI, service: Service) -> None:
    """What the first requests would each do once, done before: FastAPI's table of routes (built
    by the first request that looks for one), the modules that withhold the key and the patterns
    that look for each part's reference (a student's first view). Under a class's first hand-ins
    each held the interpreter: the modules for most of a second, the patterns 40 ms a problem set."""
    parts = {
        (part.type, None if part.answer is None else preview(part.answer))
        for loaded in service.course.all()
        for _, _, part in loaded.spec.iter_parts()
    }
    await anyio.to_thread.run_sync(warm_withholding, parts)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://warm-up") as client:
        await client.get("/-/warm-up")


async def api_error(request: Request, exc: ApiError) -> Response:
    if exc.status in (401, 429, 503):  # nobody to look up, or no more reads of theirs now
        return error_response(request, exc)
    return error_response(await with_user(request), exc)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    message = "no such page or endpoint" if exc.status_code == 404 else str(exc.detail)
    return error_response(await with_user(request), ApiError(exc.status_code, message))


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    problems = "; ".join(
        f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
    )
    return error_response(await with_user(request), ApiError(422, f"the request is not valid: {problems}"))


async def database_unavailable(request: Request, exc: Exception) -> Response:
    if not out_of_service(exc):
        raise exc  # a fault of the code: the 500 it always was
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    log.error(
        "database unavailable, %s %s answered 503: %s",
        request.method,
        request.url.path,
        str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__,
    )
    return error_response(request, unavailable(writing=request.method not in SAFE_METHODS))


router = APIRouter(include_in_schema=False)


@router.get(SERVICE_ASSETS + "{name:path}")
async def static_file(name: str) -> Response:
    """One of :data:`STATIC_FILES` (no path is ever joined to a folder), cached for a day."""
    if name not in STATIC_FILES:
        return Response("no such file", status_code=404, media_type="text/plain")
    content, media = STATIC_FILES[name]
    return Response(content, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/favicon.ico")
async def favicon() -> Response:  # in the loop: no request thread, however busy they are
    return Response(status_code=204)


@router.get("/healthz")
async def healthz(request: Request) -> Response:
    """503 "down" when the database does not answer in time, "saturated" while the checks or the
    request threads are all taken; "degraded" while a course file is not in force."""
    body = health(request.app.state.service, await request.app.state.probe.job_counts())
    return JSONResponse(body, status_code=503 if body["status"] in ("down", "saturated") else 200)


@router.get("/metrics")
def metrics_page(request: Request) -> Response:
    jobs = request.app.state.service.job_counts()
    return PlainTextResponse(
        metrics.exposition(jobs.queued, jobs.grading), media_type="text/plain; version=0.0.4"
    )


def create_app(settings: Settings, *, start_workers: bool = True, freeze_start_up: bool = False) -> FastAPI:
    """The service's app; ``freeze_start_up``: the warm heap kept out of later full collections
    (``grader serve``: the whole process is the server's; not in a test's own process)."""
    service = Service(settings, start_workers=start_workers, hooks=lti_database_hooks(settings.course_dir))
    probe = DatabaseProbe(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # sync routes and run_in_threadpool share anyio's default limiter (40 threads)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        service.verdicts.bind(asyncio.get_running_loop())  # the long polls wait in this loop
        await warm_up(app, service)
        # The start-up heap (about 400,000 objects once warm: the course's compiled problems,
        # sympy, the routes) lives as long as the process: kept out of every later full
        # collection, which otherwise scanned it for 50-100 ms every few seconds of a class's
        # hand-ins, holding up every request in flight (docs/service.md, "Where an upload's
        # time goes"). After the warm-up: frozen before it, what it imports was scanned still.
        if freeze_start_up:
            gc.collect()
            gc.freeze()
        service.start()
        log.info(json.dumps({"event": "started", "course": str(settings.course_dir)}))
        try:
            yield
        finally:
            service.verdicts.close()
            service.stop()  # finishes the jobs in hand or puts them back
            probe.close()
            log.info(json.dumps({"event": "stopped"}))

    app = FastAPI(
        title="grader",
        version=grader.__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        exception_handlers={
            ApiError: api_error,
            StarletteHTTPException: http_error,
            RequestValidationError: validation_error,
            **dict.fromkeys((DBAPIError, PoolTimeout, OSError), database_unavailable),
        },
    )
    app.state.service, app.state.probe = service, probe
    routers = [api_router, exports_router, pages_router, hand_routes.router, regrade_requests.router]
    routers += [accounts_router, similarity_router, pdf_router, pdf_pages_router, router]
    for included in routers:
        app.include_router(included)
    app.state.ta_links = [similarity_link]  # shown on /ta
    install_lti(app, settings)  # LTI 1.3: /lti/jwks.json, /lti/login, /lti/launch (docs/lms.md)
    # the whole body, a multipart envelope included, stays under twice the upload limit
    app.add_middleware(
        BodyLimit,
        limit=2 * settings.max_upload_bytes + 64 * 1024,
        seconds=settings.body_timeout,
        pdf_limit=PdfLimits().max_bytes + 64 * 1024,  # the PDF and its page tags
    )
    app.add_middleware(HeadersAndLog)  # outermost: it sees the body limit's 413 too
    return app
