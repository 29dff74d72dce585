"""Helpers of the API tests: one served copy of the dashboards' test home (the session fixture `served`,
imported by the test modules that use it) and plain HTTP requests."""

from __future__ import annotations

import http.client
import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from acl import get_user, open_store, token_create
from tests.servers.serve import serving
from tests.test_dashboards_data import DemoHome, copy_home

SQL_PATH = "/api/v1/sql"


@dataclass
class Answer:
    """One HTTP answer, read whole (or as far as the server sent it: `complete` says whether it ended)."""

    status: int
    headers: dict[str, str]
    body: bytes
    complete: bool

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    base: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    timeout: float = 60,
) -> Answer:
    """A real HTTP request over a fresh connection (http.client: nothing rewritten, nothing retried)."""
    url = urllib.parse.urlsplit(base)
    query = ("?" + urllib.parse.urlencode(params, doseq=True)) if params else ""
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path + query, body=body, headers=sent)
        response = connection.getresponse()
        try:
            data, complete = response.read(), True
        except http.client.IncompleteRead as exc:
            data, complete = exc.partial, False
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data, complete)
    finally:
        connection.close()


def sql(base: str, token: str, query: str, accept: str = "application/json", timeout: float = 60) -> Answer:
    return request(
        base,
        "POST",
        SQL_PATH,
        token=token,
        body=json.dumps({"sql": query}).encode(),
        headers={"Content-Type": "application/json", "Accept": accept},
        timeout=timeout,
    )


def new_token(home: Path, user: str, name: str = "tests", *, expires_days: float | None = None) -> str:
    """A fresh API token of `user` in the served home (the server reads the same control.db)."""
    store = open_store(home / "control.db")
    try:
        secret, _ = token_create(store, get_user(store, user), name, expires_days=expires_days)
    finally:
        store.close()
    return secret


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, DemoHome, subprocess.Popen[bytes]]]:
    """One `relaywatch serve` over a copy of the dashboards' test home (real ingest), for every API test."""
    home = copy_home(tmp_path_factory.mktemp("api"))
    with serving(home.path) as (base, process):
        yield base, home, process
