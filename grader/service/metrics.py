"""Prometheus metrics (``/metrics``): queue length, grading time, errors, requests."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry()
GRADED = Counter("grader_graded_total", "Submissions graded", registry=REGISTRY)
GRADING_FAILED = Counter(
    "grader_grading_failures_total", "Submissions whose worker died or was stopped", registry=REGISTRY
)
GRADING_SECONDS = Histogram(
    "grader_grading_seconds",
    "Time from a job's claim to its verdict",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
QUEUE_LENGTH = Gauge("grader_queue_length", "Jobs waiting for a worker", registry=REGISTRY)
IN_GRADING = Gauge("grader_jobs_grading", "Jobs held by a worker", registry=REGISTRY)
REQUESTS = Counter(
    "grader_http_requests_total", "HTTP requests by route and status", ["route", "status"], registry=REGISTRY
)
SUBMISSIONS = Counter("grader_submissions_total", "Versions handed in", registry=REGISTRY)
_request_counters: dict[tuple[str, int], Counter] = {}


def request_served(route: str, status: int) -> None:
    """Each (route, status) child looked up once: finding it takes the metric's lock and checks
    its labels, a tenth of a trivial request's time."""
    counter = _request_counters.get((route, status))
    if counter is None:
        counter = _request_counters.setdefault((route, status), REQUESTS.labels(route, str(status)))
    counter.inc()


def graded(seconds: float, failed: bool) -> None:
    GRADED.inc()
    GRADING_SECONDS.observe(seconds)
    if failed:
        GRADING_FAILED.inc()


def exposition(queued: int, grading: int) -> bytes:
    QUEUE_LENGTH.set(queued)
    IN_GRADING.set(grading)
    return generate_latest(REGISTRY)
