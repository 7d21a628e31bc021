"""Every error abusedesk raises on purpose, in one tree.

    AbusedeskError              base: a message a user can act on
    ├── ConfigError             the config file or an environment override is wrong
    ├── StorageError            the database cannot be reached or written
    ├── DirectoryImportError    an account directory file is malformed (file:line)
    ├── NotFoundError           a mailbox, report or other object does not exist
    ├── RefusedError            an action is not allowed in the object's current state
    ├── UsageError              arguments that do not fit together (a role without its company)
    └── RulesError              a rules file is invalid (file:line:column, rule)

Anything else that escapes is a bug: the CLI shows it as one line and, with
`--debug`, the traceback.
"""

from __future__ import annotations


class AbusedeskError(Exception):
    """Base class: the message says what was wrong, where, and what to do."""

    exit_code: int = 1


class ConfigError(AbusedeskError):
    """A configuration key is unknown or has a bad value."""

    exit_code = 78  # EX_CONFIG


class StorageError(AbusedeskError):
    """The database is unavailable; the operation can be retried later."""

    exit_code = 75  # EX_TEMPFAIL


class DirectoryImportError(AbusedeskError):
    """A line of an account directory file cannot be imported."""

    exit_code = 65  # EX_DATAERR


class NotFoundError(AbusedeskError):
    """The named object does not exist (or is outside the caller's scope)."""


class RefusedError(AbusedeskError):
    """The action is not allowed in the object's current state."""


class UsageError(AbusedeskError):
    """The arguments given do not make sense together, or a value is malformed."""

    exit_code = 64  # EX_USAGE


class RulesError(AbusedeskError):
    """A rules file is invalid."""
