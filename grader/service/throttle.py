"""Password guessing slowed without a lock-out anyone can trigger: failures counted per account and
address, and per account from browsers that never logged in to it (docs/service.md, "Security")."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from grader.core.integrity import derived_key, intact, seal

KNOWN_COOKIE = "grader_known"  # this browser has logged in to this account before
KNOWN_COOKIE_DAYS = 180
KNOWN_PURPOSE = "browsers that logged in to an account"  # the cookie's key's purpose
FORGET_SECONDS = 86_400.0  # failures a day old are forgotten
MOST_KEYS = 200_000  # what it holds, whatever is sent


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0


@dataclass(frozen=True)
class Backoff:
    free: int  # failures before any wait
    first: float  # the wait after the first failure past them, doubling with each one after
    longest: float

    def wait(self, failures: _Failures, now: float) -> float:
        if failures.count < self.free:
            return 0.0
        delay = min(self.first * 2 ** (failures.count - self.free), self.longest)
        return max(failures.last + delay - now, 0.0)


PER_ACCOUNT_AND_ADDRESS = Backoff(free=5, first=1.0, longest=300.0)
PER_ACCOUNT_FROM_UNKNOWN = Backoff(free=20, first=1.0, longest=900.0)


class LoginThrottle:
    """Every log-in checked counts as a failure until it succeeds, so a burst of guesses sent at
    once is slowed as much as guesses sent one after another."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str, bool], _Failures] = {}
        self._accounts: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def attempt(self, account: str, address: str, known: bool) -> float | None:
        """None when this log-in may be checked now (it is counted); else the seconds to wait.
        ``known``: the browser carries this account's :func:`known_cookie`."""
        account = account.casefold()
        now = time.monotonic()
        with self._lock:
            pair = self._pairs.get((account, address, known), _Failures())
            wait = PER_ACCOUNT_AND_ADDRESS.wait(pair, now)
            if not known:
                wait = max(wait, PER_ACCOUNT_FROM_UNKNOWN.wait(self._accounts.get(account, _Failures()), now))
            if wait > 0:
                return wait
            if len(self._pairs) + len(self._accounts) > MOST_KEYS:
                self._sweep(now)
            counted = [self._pairs.setdefault((account, address, known), pair)]
            if not known:
                counted.append(self._accounts.setdefault(account, _Failures()))
            for failures in counted:
                failures.count += 1
                failures.last = now
        return None

    def succeeded(self, account: str, address: str, known: bool) -> None:
        account = account.casefold()
        with self._lock:
            self._pairs.pop((account, address, known), None)
            failures = self._accounts.get(account)
            if not known and failures is not None and failures.count > 0:
                failures.count -= 1  # this one was no guess

    def _sweep(self, now: float) -> None:
        """Forget failures a day old, then those that make nobody wait yet."""
        tables: list[tuple[dict[Any, _Failures], Backoff]] = [
            (self._pairs, PER_ACCOUNT_AND_ADDRESS),
            (self._accounts, PER_ACCOUNT_FROM_UNKNOWN),
        ]
        for table, backoff in tables:
            for key in [key for key, failures in table.items() if failures.last < now - FORGET_SECONDS]:
                del table[key]
            if len(self._pairs) + len(self._accounts) > MOST_KEYS:
                for key in [key for key, failures in table.items() if failures.count < backoff.free]:
                    del table[key]
        if len(self._pairs) + len(self._accounts) > MOST_KEYS:  # a million failures within a day
            self._pairs.clear()  # the per-account count still bounds the guesses


def known_cookie(account: str) -> str:
    return seal(derived_key(KNOWN_PURPOSE), "known browser", account.casefold())


def is_known(cookie: str | None, account: str) -> bool:
    return bool(cookie) and intact(
        derived_key(KNOWN_PURPOSE), cookie or "", "known browser", account.casefold()
    )
