"""The OpenAPI document stays true: it names exactly the mounted routes, and every path, part, parameter
and format it documents answers as documented on the real server."""

from __future__ import annotations

import io
import json

import jsonschema
import pyarrow as pa
import pytest
from starlette.routing import Route

from dashboards.api import ROUTES
from tests.api_client import new_token, request, served, sql
from tests.test_api import PERIOD

pytestmark = pytest.mark.server
__all__ = ["served"]
SAMPLES = {
    "start": PERIOD["start"],
    "end": PERIOD["end"],
    "sort": "recipient",
    "order": "asc",
    "status": "sent",
    "qualification": "success",
    "reason": "delivered",
    "gateway": "gw1",
    "soft_is_error": "true",
    "q": "7C1D2E3F4A",
}


@pytest.fixture(scope="module")
def spec(served) -> dict:
    base, _, _ = served
    answer = request(base, "GET", "/api/v1/openapi.json")  # no token: it holds no data
    assert answer.status == 200
    return answer.json()


def test_the_document_names_exactly_the_mounted_routes(spec: dict) -> None:
    assert spec["openapi"].startswith("3.1")
    mounted = {
        (r.path, m.lower())
        for r in ROUTES
        if isinstance(r, Route) and "{rest:path}" not in r.path
        for m in (r.methods or ())
        if m != "HEAD"
    }
    documented = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    assert documented == mounted


def test_every_documented_part_parameter_and_format_answers_as_documented(served, spec: dict) -> None:
    base, home, _ = served
    token = new_token(home.path, "alice", "openapi")
    key = request(base, "GET", "/api/v1/messages", token=token, params={"q": "7C1D2E3F4A"}).json()["rows"][0][
        "message_key"
    ]
    table = spec["components"]["schemas"]["Table"]
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path.endswith("openapi.json"):
                continue
            names = [p for p in operation["parameters"] if p["in"] == "query"]
            parts = next((p["schema"]["enum"] for p in operation["parameters"] if p["in"] == "path"), [None])
            params = {
                p["name"]: SAMPLES.get(p["name"], "1" if p["schema"].get("type") == "integer" else "") for p in names
            }
            if "key" in params:
                params["key"] = key
            for part in parts:
                where = path.replace("{part}", part) if part else path
                for media in operation["responses"]["200"]["content"]:
                    if method == "post":
                        answer = sql(base, token, "SELECT 1 AS one", accept=media)
                    else:
                        answer = request(base, "GET", where, token=token, params=params, headers={"Accept": media})
                    assert answer.status == 200, (where, media, answer.body[:300])
                    assert answer.headers["content-type"].startswith(media), (where, media)
                    if media == "application/json":
                        jsonschema.validate(answer.json(), table)
                    elif media.endswith("arrow.stream"):
                        pa.ipc.open_stream(io.BytesIO(answer.body)).read_all()
                    checked += 1
            for code in operation["responses"]:
                assert code == "200" or json.dumps(operation["responses"][code]).count("Error")
    assert checked >= 4 * (1 + 1 + 5 + 5 + 1 + 5)
