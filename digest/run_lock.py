"""One daily run at a time per database, whichever process or host starts it.

Two ``digest serve`` processes on one PostgreSQL database fire at the same minute; a
``digest run`` may be typed while the scheduled one is going. Each takes this lock
first and, holding it, looks again at which days still need a run; the one that does
not get the lock steps aside. So a day is never run twice at once, and a day already
run successfully is not run again (the ledger would make a second run harmless, but
it would still fetch, match and leave a second ``runs`` row).

PostgreSQL: a session-level advisory lock on a connection kept for the run. SQLite:
an exclusive ``flock`` on a file beside the database. Either is dropped by the
operating system or the server when the process ends, however it ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from digest.db import Database, sqlite_file
from digest.errors import DigestError
from digest.store import locks

log = logging.getLogger(__name__)

# The advisory lock's key: "paperdig" in ASCII, one 64-bit number, so it is unlikely to
# meet another application's lock on a shared server.
DAILY_RUN_KEY = int.from_bytes(b"paperdig", "big")


class RunLock:
    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        """Take the lock without waiting; yields False (and holds nothing) when another
        process has it."""
        if not self._db.is_sqlite:
            async with self._advisory() as held:
                yield held
            return
        path = sqlite_file(self._db.engine.url)
        if path is None:  # in-memory: one process only
            yield True
            return
        with _file_lock(Path(f"{path}.run.lock")) as held:
            yield held

    @contextlib.asynccontextmanager
    async def _advisory(self) -> AsyncIterator[bool]:
        async with self._db.engine.connect() as connection:
            held = await locks.try_advisory_lock(connection, DAILY_RUN_KEY)
            await connection.commit()
            try:
                yield held
            finally:
                if held:
                    try:
                        await locks.advisory_unlock(connection, DAILY_RUN_KEY)
                        await connection.commit()
                    except SQLAlchemyError as exc:
                        # The connection is gone, and the lock with it; never pool it.
                        log.warning("could not release the daily run lock: %s", exc)
                        await connection.invalidate()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class RunBusy(DigestError):
    """Another process is running days on this database."""
