"""Files that never lose work: atomic writes, orphan clean-up and a run-directory lock.

* :func:`atomic_path` / :func:`atomic_write` / :func:`atomic_savez` / :func:`atomic_write_text`
  write to a temporary file in the destination's folder, ``fsync`` it and ``os.replace`` it over
  the destination: a crash or an exception at any point leaves the previous file intact.
  Temporary names are ``.<name>.<random>.tmp`` (plus the destination's format suffix, e.g.
  ``.nii.gz``, when the writer picks its format from the name, as nibabel does).
* :func:`remove_orphans` deletes such temporaries that a killed process left behind.
* :class:`RunLock` is an ``O_EXCL`` lock file holding the owner's pid, so that two processes
  cannot write the same run directory; the lock of a dead process is taken over.

This module depends on nothing else in labkit: every layer may use it.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["RunLock", "RunLocked", "atomic_path", "atomic_savez", "atomic_write",
           "atomic_write_text", "remove_orphans", "same_file"]

# ".<name>.<mkstemp's 8 random characters>.tmp[.<format suffix>]"
_TMP_RE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9.]+)?$")


def _format_suffix(name: str) -> str:
    lower = name.lower()
    for suffix in (".nii.gz", ".nii", ".npz", ".json", ".onnx"):
        if lower.endswith(suffix):
            return name[len(name) - len(suffix):]
    return ""


@contextlib.contextmanager
def atomic_path(path, keep_suffix: bool = False):
    """Context manager yielding a temporary path next to ``path``; on a clean exit the file
    written there is fsynced and renamed over ``path``, on an exception it is removed.

    ``keep_suffix`` ends the temporary name with ``path``'s format suffix (``.nii.gz`` ...) for
    writers that choose the format from the file name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a directory")
    suffix = ".tmp" + (_format_suffix(path.name) if keep_suffix else "")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the permissions open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write(path, write, binary: bool = True) -> Path:
    """Call ``write(fh)`` on a temporary file next to ``path`` and rename it over ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb" if binary else "w") as fh:
        write(fh)
        fh.flush()
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (never a half-written file)."""
    return atomic_write(path, lambda fh: fh.write(text), binary=False)


def atomic_savez(path, arrays: dict) -> Path:
    """``np.savez`` written atomically (see :func:`atomic_write`); adds ``.npz`` if missing."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def remove_orphans(directory) -> list[Path]:
    """Delete the temporary files (``.<name>.<random>.tmp...``) that an interrupted atomic write
    left in ``directory``; returns the removed paths.  Only call it while holding the
    directory's :class:`RunLock` (a live writer's temporary would be removed too)."""
    removed = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        if _TMP_RE.match(entry.name) and entry.is_file():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name the same file (symlinks, ``..``, hard links)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


class RunLocked(RuntimeError):
    """Another live process holds the lock of a run directory."""


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                        # exists, owned by someone else
        return True
    except OverflowError:
        return False
    return True


class RunLock:
    """Exclusive lock on a directory: the file ``DIR/.lock`` created with ``O_EXCL``, holding
    the owner's pid.

    ``acquire()`` raises :class:`RunLocked` while a live process (this one included) holds the
    lock; a lock whose pid is dead (or unreadable) is stale and taken over, and
    :attr:`stale_pid` tells whose it was.  Use it as a context manager.
    """

    NAME = ".lock"

    def __init__(self, directory):
        self.path = Path(directory) / self.NAME
        self.stale_pid = None
        self._held = False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return True

    def acquire(self) -> RunLock:
        if self._create():
            self._held = True
            return self
        try:
            text = self.path.read_text().strip()
            pid = int(text)
        except (OSError, ValueError):
            pid = -1
        if _pid_alive(pid):
            raise RunLocked(f"{self.path.parent} is in use by another run (pid {pid} holds "
                            f"{self.path}); wait for it to finish, or delete the lock file if "
                            f"no such process is running")
        # Stale: its owner died without releasing it.  Remove and retry once with O_EXCL, so
        # that of two processes taking over at the same time only one wins.
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if not self._create():
            raise RunLocked(f"{self.path.parent} is in use by another run (it took over the "
                            f"stale lock {self.path} first)")
        self.stale_pid = pid
        self._held = True
        return self

    def release(self) -> None:
        if self._held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
