"""A worker's jobs are put back at once only when its process is seen gone from the same PID
namespace; a worker in another namespace (a container on the same host name) is trusted to its
lease, never taken for dead because its pid is not one of ours."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from grader.service.worker import HOST, new_owner, owner_gone


def test_an_owner_of_this_namespace_is_gone_when_its_process_is() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert owner_gone(f"{HOST}:{child.pid}:deadbeef")
    assert not owner_gone(new_owner())  # this process runs


def test_an_owner_of_another_namespace_is_left_to_its_lease() -> None:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs unshare as root")
    script = "from grader.service.worker import new_owner; print(new_owner())"
    inside = subprocess.run(
        ["unshare", "-p", "-f", "--mount-proc", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout.strip()
    place = inside.split(":")[0]
    assert place != HOST
    assert not owner_gone(inside)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid no process of ours has: in the other namespace it may be running
    assert not owner_gone(f"{place}:{child.pid}:deadbeef")  # its lease decides, not our pids
