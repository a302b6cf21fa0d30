"""Stored reports as JSON (the batch's codec, ``grader.core.plainjson``), no longer pickles: each
``verdicts.report`` an older grader pickled is read by the restricted unpickler it was written
for (grader's data classes and plain values only) and written again as JSON, in batches. A row
that cannot be read back (another grader's) is left as it is: it reads as "could not be read
back", as it did before.

Revision ID: 0014_json_reports
Revises: 0013_unsent_links
"""

import dataclasses
import enum
import io
import logging
import pickle
import zlib
from typing import Any

import sqlalchemy as sa
from alembic import op

from grader.core.plainjson import packed, unpacked

revision = "0014_json_reports"
down_revision = "0013_unsent_links"
branch_labels = None
depends_on = None

BATCH = 200
PACKED = b"zlib:"  # a compressed pickle started so
log = logging.getLogger("alembic.runtime.migration")
verdicts = sa.table("verdicts", sa.column("id", sa.Integer), sa.column("report", sa.LargeBinary))

_SAFE_GLOBALS = {
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("fractions", "Fraction"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
}


class _OldReports(pickle.Unpickler):
    """The unpickler older graders read their reports with: grader's data classes and enums,
    plain values, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module.startswith("grader."):
            found = super().find_class(module, name)
            if isinstance(found, type) and (dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not stored by grader")


def _as_json(blob: bytes) -> bytes | None:
    """The JSON of a pickled report; None when it is JSON already or cannot be read back."""
    if blob[:1] == b"{":
        return None
    try:
        if blob[: len(PACKED)] == PACKED:
            blob = zlib.decompress(blob[len(PACKED) :])
        value = _OldReports(io.BytesIO(blob)).load()
        return packed(value).encode("utf-8")
    except Exception as error:  # another grader's row: left as it is
        log.warning("a stored report could not be read back (%s): left as it is", error)
        return None


def _convert(change: Any) -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(verdicts.c.id, verdicts.c.report)
            .where(verdicts.c.id > last)
            .order_by(verdicts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row_id, blob in rows:
            new = change(bytes(blob))
            if new is not None:
                connection.execute(verdicts.update().where(verdicts.c.id == row_id).values(report=new))
        last = rows[-1][0]


def upgrade() -> None:
    _convert(_as_json)


def downgrade() -> None:
    def as_pickle(blob: bytes) -> bytes | None:
        value = unpacked(blob) if blob[:1] == b"{" else None
        return None if value is None else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    _convert(as_pickle)
