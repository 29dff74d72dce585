"""The one error base of relaywatch: a failure whose message is meant for a person."""

from __future__ import annotations


class RelaywatchError(Exception):
    """Expected failure (bad input, unreachable gateway, refused query...): the CLI prints the message
    and exits with status 1, without a traceback. Packages derive their own errors from it (acl, which
    imports nothing of ours, has its own base; the CLI catches both in one place)."""
