"""A submission folder as grader's readers see it: each entry's kind, where each link leads and,
on demand, a file's content. Taken from the disk in one walk (links resolved there, content read
when a reader asks), or from the files that travelled (a Dask task, an upload); the readers
(grader.loading, grader.writeups) read only this, so the two are read alike and nothing is
ever written to a scratch folder."""

from __future__ import annotations

import errno
import os
import posixpath
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from grader.core.textfiles import decode_text, file_too_large

# Entries of one folder looked at: the first in name order, those a reader may open before
# any other (an answers file among 5,000 figures is found).
MAX_FILES = 2_000
MAX_TRAVELLING = 20_000  # entries of a submission that travel to a worker elsewhere
MAX_DEPTH = 32  # folder levels of a submission looked at
# What a reader may open (grader.loading, grader.writeups, code answers); every other file
# only counts by its name and size.
READ_SUFFIXES = (".yaml", ".yml", ".json", ".tex", ".md", ".ipynb", ".py")
LINKED_FOLDER = "."  # the one entry of a submission folder that is itself a link, as it travels


@dataclass(frozen=True)
class Entry:
    """One entry of a submission folder: a link is described by what it leads to."""

    path: str  # relative to the folder, with / separators
    kind: str = "file"  # "file", "directory", "fifo", "other", or "nowhere" (a link that cannot be followed)
    size: int = 0
    # A link: the path inside the folder it leads to, links followed ("": out of the folder).
    link: str | None = None
    data: bytes | None = None  # the content, when it travelled (None: on disk, or never read)
    error: str | None = None  # why the file cannot be read, as the disk said


@dataclass(frozen=True)
class Folder:
    """A submission folder; its files are named from ``shown`` in every message. On disk, a
    folder's entries are listed when a reader first looks into it (a class's root is never
    walked whole), at most :data:`MAX_FILES` of them."""

    shown: Path
    name: str  # the folder's own name: the student's identity when the sheet names nobody
    entries: dict[str, Entry]  # listed so far: every entry, for files that travelled
    link: str | None = None  # the folder is itself a link, to this (it is never read)
    disk: Path | None = None  # where its files are read from, when they did not travel
    _listed: set[str] = field(default_factory=set, compare=False, repr=False)
    _texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # read once

    @classmethod
    def from_disk(cls, folder: Path | str, shown: str | None = None) -> Folder:
        path = Path(folder)
        name = (path.resolve() if path.name in ("", ".", "..") else path).name
        shown_path = Path(path if shown is None else shown)
        if path.is_symlink():
            try:
                target = str(path.readlink())
            except OSError:
                target = "somewhere that cannot be read"
            return cls(shown_path, name, {}, link=target)
        return cls(shown_path, name, {}, disk=path)

    @classmethod
    def from_files(
        cls, files: Mapping[str, bytes] | Iterable[Entry], shown: str, name: str | None = None
    ) -> Folder:
        """The folder from its files by name (an upload), or from what travelled of it; ``name``
        (default: the last part of ``shown``) is the folder's own."""
        if isinstance(files, Mapping):
            entries = [Entry(name, size=len(data), data=data) for name, data in files.items()]
        else:
            entries = list(files)
        name = PurePosixPath(shown).name if name is None else name
        linked = [entry.link for entry in entries if entry.path == LINKED_FOLDER]
        if linked:
            return cls(Path(shown), name, {}, link=linked[0])
        kept = {e.path: e for e in entries if _is_plain_relative(e.path)}
        for entry in list(kept.values()):  # the folders the files are in
            for parent in PurePosixPath(entry.path).parents:
                if str(parent) != "." and str(parent) not in kept:
                    kept[str(parent)] = Entry(str(parent), "directory")
        return cls(Path(shown), name, dict(sorted(kept.items())))

    def named(self, relative: str) -> str:
        """How messages name a file of the folder: ``submissions/alice/main.tex``."""
        return str(self.shown / relative)

    def lookup(self, relative: str) -> Entry | None:
        """The entry at ``relative`` (a path with no link in its folders), a link not followed."""
        self._list(posixpath.dirname(relative))
        return self.entries.get(relative)

    def resolve(self, relative: str) -> str | None:
        """The path inside the folder that ``relative`` leads to, links followed (it may not
        exist); None when it leads out of the folder or round a loop."""
        parts: list[str] = []
        steps = list(PurePosixPath(relative).parts)
        if steps[:2] == ["..", self.name]:  # out of the folder and straight back in
            steps = steps[2:]
        for part in steps:
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    return None
                parts.pop()
                continue
            parts.append(part)
            entry = self.lookup("/".join(parts))
            if entry is not None and entry.link is not None:
                if entry.link == "":
                    return None
                parts = [] if entry.link == "." else entry.link.split("/")
        return "/".join(parts)

    def entry(self, relative: str) -> Entry | None:
        """The entry ``relative`` leads to inside the folder, links followed."""
        resolved = self.resolve(relative)
        return None if resolved is None else self.lookup(resolved)

    def is_file(self, relative: str) -> bool:
        entry = self.entry(relative)
        return entry is not None and entry.kind == "file"

    def top_level(self, suffix: str = "") -> list[str]:
        """The names of the folder's own entries ending in ``suffix``, in name order."""
        self._list("")
        return sorted(path for path in self.entries if "/" not in path and path.endswith(suffix))

    def files(self, suffix: str) -> list[str]:
        """The folder's own ``*suffix`` files, links inside it followed, in name order."""
        found = (self.resolve(name) for name in self.top_level(suffix))
        return [path for path in found if path is not None and self.is_file(path)]

    def escaping(self, suffix: str) -> list[str]:
        """The folder's ``*suffix`` entries that link out of it, or round a loop (never read)."""
        return [name for name in self.top_level(suffix) if self.resolve(name) is None]

    def read_text(self, relative: str, limit: int) -> str:
        """The file ``relative`` leads to, as UTF-8 text; ValueError with a plain reason otherwise.
        A file is read and decoded once (a write-up is looked at for marks, then read)."""
        entry = self.entry(relative)
        if entry is None or entry.kind != "file":
            raise ValueError(f"there is no file {relative} in the submission folder")
        if entry.size > limit:
            raise file_too_large(entry.size, limit)
        if entry.path in self._texts:
            return self._texts[entry.path]
        entry = self._with_content(entry, limit)
        if entry.error is not None:
            raise ValueError(entry.error)
        if entry.data is None:
            raise ValueError("file did not travel with the submission")
        if len(entry.data) > limit:
            raise file_too_large(len(entry.data), limit)
        text = self._texts[entry.path] = decode_text(entry.data)
        return text

    def travelling(self, wanted: Callable[[str], bool], limit: int) -> tuple[Entry, ...]:
        """The entries as they travel to a worker that cannot read this disk: the content of the
        files ``wanted`` names (what a reader may open; at most ``limit`` bytes each), only the
        kind and size of every other entry."""
        if self.link is not None:
            return (Entry(LINKED_FOLDER, "nowhere", link=self.link),)
        self._list_all()
        targets = (self.resolve(path) for path in list(self.entries) if wanted(path))
        with_content = {path for path in targets if path is not None}
        entries = []
        for entry in list(self.entries.values()):
            if entry.path in with_content and entry.kind == "file" and entry.size <= limit:
                entry = self._with_content(entry, limit)
            entries.append(entry)
        return tuple(entries)

    def _with_content(self, entry: Entry, limit: int) -> Entry:
        if entry.data is not None or entry.error is not None or self.disk is None:
            return entry
        try:
            data = _read_regular_file(self.disk / entry.path, limit + 1)
        except OSError as exc:  # the reason alone: a message never names a path of this machine
            return replace(entry, error=exc.strerror or type(exc).__name__)
        return replace(entry, data=data, size=len(data))

    def _list(self, directory: str) -> None:
        """List ``directory`` (a path inside the folder with no link in it) from the disk, once,
        and the folders it is in before it."""
        if self.disk is None or directory in self._listed:
            return
        pending = []
        while directory not in self._listed:
            pending.append(directory)
            if not directory:
                break
            directory = posixpath.dirname(directory)
        for directory in reversed(pending):
            entry = self.entries.get(directory) if directory else Entry("", "directory")
            if entry is None or entry.kind != "directory" or entry.link is not None:
                return
            self._list_one(directory)

    def _list_one(self, directory: str) -> None:
        assert self.disk is not None
        self._listed.add(directory)
        if directory.count("/") + 1 >= MAX_DEPTH:
            return
        try:
            found = sorted(os.scandir(self.disk / directory), key=_reader_files_first)[:MAX_FILES]
        except OSError:
            return
        home = None
        for item in found:
            relative = f"{directory}/{item.name}" if directory else item.name
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(info.st_mode):
                home = home or _real(self.disk)
                self.entries[relative] = _link(relative, Path(item.path), home)
            else:
                size = info.st_size if stat.S_ISREG(info.st_mode) else 0
                self.entries[relative] = Entry(relative, _kind(info), size)

    def _list_all(self) -> None:
        """List every folder inside, level by level (at most :data:`MAX_DEPTH` deep)."""
        level = [""]
        while level:
            for directory in level:
                if len(self.entries) >= MAX_TRAVELLING:
                    return
                self._list(directory)
            level = [
                path
                for path, entry in self.entries.items()
                if entry.kind == "directory" and entry.link is None and path not in self._listed
            ]


def _reader_files_first(item: os.DirEntry[str]) -> tuple[bool, str]:
    try:
        plain_file = not item.is_dir(follow_symlinks=False) and not item.name.endswith(READ_SUFFIXES)
    except OSError:
        plain_file = True
    return plain_file, item.name


def _read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file at ``path``: never through a link put there
    since the folder was listed, and never blocking on a pipe."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return stream.read(limit)


def _is_plain_relative(path: str) -> bool:
    relative = PurePosixPath(path)
    return bool(path) and not relative.is_absolute() and ".." not in relative.parts


def _real(folder: Path) -> Path:
    try:
        return folder.resolve(strict=True)
    except (OSError, RuntimeError):
        return folder.absolute()


def _kind(info: os.stat_result) -> str:
    if stat.S_ISREG(info.st_mode):
        return "file"
    if stat.S_ISDIR(info.st_mode):
        return "directory"
    return "fifo" if stat.S_ISFIFO(info.st_mode) else "other"


def _link(relative: str, path: Path, home: Path) -> Entry:
    """A link as it resolves on this machine: to a path inside the folder, out of it, or nowhere."""
    try:
        target = path.resolve(strict=True)
        info = target.stat()
    except (OSError, RuntimeError):  # leads nowhere, or round a loop
        return Entry(relative, "nowhere", link=_dangling_target(path, home))
    inside = target.relative_to(home).as_posix() if target.is_relative_to(home) else None
    size = info.st_size if stat.S_ISREG(info.st_mode) else 0
    return Entry(relative, _kind(info), size, link="" if inside is None else inside)


def _dangling_target(path: Path, home: Path) -> str:
    """Where a link that leads nowhere would lead inside the folder ("": out of it, or a loop)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return ""
    return target.relative_to(home).as_posix() if target.is_relative_to(home) else ""
