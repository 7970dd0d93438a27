"""The exceptions the service raises on purpose, each with the exit code a command ends with."""

from __future__ import annotations


class DigestError(Exception):
    """An expected failure, shown to the user as one line without a traceback."""

    exit_code = 1


class InputError(DigestError):
    """Bad input from the user: an invalid address, query, date or file."""

    exit_code = 2


class ConfigError(InputError):
    """A setting is missing or invalid."""


class NotFoundError(InputError):
    """The subscriber (or other record) named by the user does not exist."""


class SourceError(DigestError):
    """The listing could not be fetched or understood."""


class DatabaseError(DigestError):
    """The database cannot be reached or is not migrated."""
