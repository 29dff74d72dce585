"""Exceptions raised by the acl package.

Messages shown to a person who is not yet authenticated are deliberately generic: they never say
whether an account, an address or a code exists.
"""

from __future__ import annotations


class AclError(Exception):
    """Base class of every acl error."""


class PermissionDenied(AclError):
    """The actor may not perform this action."""


class NotFound(AclError, LookupError):
    """An administrative action named a user or grant that does not exist (only told to admins and root)."""


class InvalidValue(AclError, ValueError):
    """A user name, role, grant value or address is malformed or refused (look-alike, control char...)."""


class WeakPassword(InvalidValue):
    """The password does not satisfy the password policy."""


class LoginFailed(AclError):
    """Wrong name or password, unknown or disabled account: one message for all of them."""

    def __init__(self, message: str = "invalid name or password") -> None:
        super().__init__(message)


class Throttled(AclError):
    """Too many attempts for this account, address or source; retry after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"too many attempts, retry in {int(self.retry_after) + 1} s")


class SessionInvalid(AclError):
    """Unknown, expired or revoked session token, or its account was disabled."""

    def __init__(self, message: str = "session invalid or expired") -> None:
        super().__init__(message)


class CodeInvalid(AclError):
    """A one-time code is wrong, expired, already used or exhausted: one message for all of them."""

    def __init__(self, message: str = "invalid or expired code") -> None:
        super().__init__(message)


class SqlRefused(AclError, ValueError):
    """A non-root user's SQL was refused by the guard; the message says why."""
