"""The OpenAPI 3.1 description of the HTTP API, generated from dashboards.api.ENDPOINTS (the same table the
routes validate their parameters with), so it cannot drift from them; tests/test_api_openapi.py calls
every path, part, parameter and format it documents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dashboards.api_formats import MEDIA_TYPES

ERROR = {"$ref": "#/components/schemas/Error"}
ERRORS = {
    "400": "Malformed request: bad JSON, unknown or invalid parameter, SQL refused or failed",
    "401": "Missing, unknown, revoked or expired token",
    "404": "Unknown route or part, or a message outside your scope",
    "406": "Unsupported Accept",
    "413": "Request body too large",
    "414": "Query string too long",
    "415": "The SQL body is not application/json",
    "429": "Too many requests for this token (Retry-After)",
    "503": "The API is busy (Retry-After)",
}


def _table() -> dict[str, Any]:
    return {
        "description": "The result, streamed. JSON is one object (columns, rows, truncated); a cut CSV or "
        "JSON Lines result ends without its last chunk; Arrow marks a cut result in the custom "
        "metadata `relaywatch.truncated` of a last, empty batch.",
        "headers": {
            "X-Total-Count": {"description": "deliveries: rows matching the filters", "schema": {"type": "integer"}},
            "X-Next-Offset": {
                "description": "deliveries: offset of the next page, absent on the last",
                "schema": {"type": "integer"},
            },
        },
        "content": {
            media: {"schema": {"$ref": "#/components/schemas/Table"}}
            if media == "application/json"
            else {"schema": {"type": "string", "format": "binary"}}
            for media in MEDIA_TYPES
        },
    }


def _operation(endpoint: Any) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": p.description,
            "schema": {"type": "array", "items": {"type": p.kind}} if p.many else {"type": p.kind},
            **({"style": "form", "explode": True} if p.many else {}),
        }
        for name, p in endpoint.params.items()
    ]
    if endpoint.parts:
        parameters.insert(
            0,
            {
                "name": "part",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": list(endpoint.parts)},
            },
        )
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.path.removeprefix("/api/v1/").replace("/{part}", "").replace("/", "_"),
        "security": [{"bearer": []}],
        "parameters": parameters,
        "responses": {
            "200": _table(),
            **{
                code: {"description": text, "content": {"application/json": {"schema": ERROR}}}
                for code, text in ERRORS.items()
            },
        },
    }
    if endpoint.body:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["sql"],
                        "additionalProperties": False,
                        "properties": {
                            "sql": {"type": "string", "description": "one SELECT over the scoped views"},
                            "params": {
                                "type": "object",
                                "description": "values of the query's named parameters ($since), bound by DuckDB",
                                "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                            },
                        },
                    }
                }
            },
        }
    return operation


def openapi(endpoints: Iterable[Any]) -> dict[str, Any]:
    """The OpenAPI document of `endpoints`."""
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method] = _operation(endpoint)
    paths["/api/v1/openapi.json"] = {
        "get": {
            "summary": "This document",
            "operationId": "openapi",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "relaywatch API",
            "version": "1",
            "description": "Read-only, scoped access to the deliveries of your grants. Send an API token "
            "(`relaywatch token create`, or the Account page) as `Authorization: Bearer`.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        }
                    },
                },
                "Table": {
                    "type": "object",
                    "required": ["columns", "rows", "truncated"],
                    "properties": {
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "rows": {"type": "array", "items": {"type": "object"}},
                        "truncated": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
