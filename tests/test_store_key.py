"""The verdict store's key: made once, whole, readable by its owner only, whoever asks first."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from grader.core.integrity import KEY_BYTES

PRINT_KEY = "from grader.core.integrity import store_key; print(store_key().hex())"


def _keys_of_processes_started_together(key_file: Path, count: int) -> list[str]:
    env = {**os.environ, "GRADER_STORE_KEY": str(key_file)}
    processes = [
        subprocess.Popen([sys.executable, "-c", PRINT_KEY], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(count)
    ]
    return [process.communicate(timeout=60)[0].strip() for process in processes]


def test_processes_that_ask_for_the_first_key_at_once_all_get_the_same_whole_key(tmp_path: Path) -> None:
    key_file = tmp_path / "config" / "grader" / "store.key"
    keys = _keys_of_processes_started_together(key_file, 12)
    assert len(set(keys)) == 1
    assert bytes.fromhex(keys[0]) == key_file.read_bytes()
    assert len(key_file.read_bytes()) == KEY_BYTES
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in key_file.parent.iterdir()] == ["store.key"]  # no file left behind


def test_a_key_file_cut_short_is_replaced_by_a_whole_key(tmp_path: Path) -> None:
    """An empty key (a crash between making the file and writing it) would seal with a key
    anyone knows: it is replaced, and what it sealed is regraded."""
    key_file = tmp_path / "store.key"
    key_file.write_bytes(b"")
    keys = _keys_of_processes_started_together(key_file, 1)
    assert len(bytes.fromhex(keys[0])) == KEY_BYTES
    assert key_file.read_bytes() == bytes.fromhex(keys[0])
