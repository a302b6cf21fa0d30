"""One running service: settings, database, course, grading workers, rate limits."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from typing import Protocol

from grader.service.course import CourseState
from grader.service.db import Database, migrate
from grader.service.settings import Settings
from grader.service.workers import GradingWorkers


class RateLimiter:
    """At most ``limit`` requests per key in any ``window`` seconds (per process)."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> float | None:
        """None when the request may go on (and is counted); else seconds to wait."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 0.0)
            hits.append(now)
            return None


class Companion(Protocol):
    """Background work that runs while the service does (LTI's grade passback)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Service:
    def __init__(self, settings: Settings, start_workers: bool = True):
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(settings.database_url)
        self.db = Database(settings.database_url)
        self.course = CourseState(self.db, settings.course_dir, settings.course_name)
        self.course.sync(force=True)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_window)
        self.workers = GradingWorkers(settings, self.db, self.course)
        self.start_workers = start_workers
        self.companions: list[Companion] = []  # started and stopped with the workers
        self.started = time.time()

    def start(self) -> None:
        if self.start_workers:
            self.workers.start()
            for companion in self.companions:
                companion.start()

    def stop(self) -> None:
        self.workers.stop()
        for companion in self.companions:
            companion.stop()
        self.db.dispose()
