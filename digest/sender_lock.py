"""One sender at a time on a SQLite database: an exclusive lock on a file beside it.

SQLite has no ``SKIP LOCKED``, so two senders could claim the same delivery;
the lock makes a second sender step aside instead. The operating system drops
the lock when its process ends, however it ends (SIGKILL included), so a crashed
sender never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from digest.db import Database


class SenderLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_database(cls, db: Database) -> SenderLock | None:
        """The lock for a SQLite file database; None for PostgreSQL (row locks do the
        work there) and for in-memory SQLite (one process only)."""
        if not db.is_sqlite:
            return None
        database = db.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(Path(f"{database}.sender.lock"))

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def holder(self) -> str | None:
        """The process id written by the holder, if readable."""
        try:
            return self.path.read_text().strip() or None
        except OSError:
            return None

    def release(self) -> None:
        if self._fd is None:
            return
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
