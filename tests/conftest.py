"""Shared pytest setup: the real-server fixtures of tests/servers."""

pytest_plugins = ["tests.servers.sink", "tests.servers.postfix", "tests.servers.sshd"]
