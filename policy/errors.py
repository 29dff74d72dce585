"""The policy package's error: a refused or failed policy action, with a message meant for a person."""

from __future__ import annotations

from relaywatch.core import RelaywatchError


class PolicyError(RelaywatchError):
    """Bad input (address, domain, gateway, duplicate), a refused permission, or a failed deployment."""
