"""Shared pytest setup: the real-server fixtures of tests/servers, and cheap password hashing."""

import os

os.environ.setdefault("RELAYWATCH_ARGON2", "fast")

pytest_plugins = [
    "tests.servers.sink",
    "tests.servers.postfix",
    "tests.servers.sshd",
    "tests.servers.imap",
    "tests.servers.dovecot_auth",
]
