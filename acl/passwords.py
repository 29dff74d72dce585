"""Password and one-time-code hashing with argon2id (argon2-cffi), and the password policy.

Production uses the library's default parameters. Tests may select the cheapest parameters with
`Hasher(fast=True)` or the environment variable RELAYWATCH_ARGON2=fast (never set it in production:
the hashes stay valid but are cheap to brute-force). Existing hashes always verify with the parameters
they were made with and are upgraded on the next successful login (`needs_rehash`).
"""

from __future__ import annotations

import os
import secrets
import unicodedata
from functools import cached_property

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from acl.errors import WeakPassword

ARGON2_ENV = "RELAYWATCH_ARGON2"
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


class Hasher:
    """argon2id hashing with a dummy hash used to keep unknown-account checks as slow as real ones."""

    def __init__(self, *, fast: bool = False, hasher: PasswordHasher | None = None) -> None:
        if hasher is not None:
            self._ph = hasher
        elif fast:
            self._ph = PasswordHasher.from_parameters(profiles.CHEAPEST)
        else:
            self._ph = PasswordHasher()

    def hash(self, secret: str) -> str:
        return self._ph.hash(secret)

    def verify(self, stored: str | None, secret: str) -> bool:
        """True when `secret` matches `stored`; with no stored hash, burn the same time and say False."""
        try:
            return self._ph.verify(stored or self.dummy_hash, secret) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._ph.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    @cached_property
    def dummy_hash(self) -> str:
        """A hash of a random secret nobody knows, made with the current parameters."""
        return self._ph.hash(secrets.token_urlsafe(24))


def default_hasher() -> Hasher:
    """Library defaults, or the cheapest parameters when RELAYWATCH_ARGON2=fast (tests only)."""
    return Hasher(fast=os.environ.get(ARGON2_ENV, "").strip().lower() == "fast")


def check_password_policy(password: str, name: str) -> None:
    """Refuse passwords that are too short or long, equal to the name, or contain control characters."""
    if not isinstance(password, str):
        raise WeakPassword("password must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at most {MAX_PASSWORD_LENGTH} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in password):
        raise WeakPassword("password must not contain control characters")
    if password.strip().lower() == name.strip().lower() or len(set(password)) < 4:
        raise WeakPassword("password is too easy to guess")
