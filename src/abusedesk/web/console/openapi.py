"""The OpenAPI 3.1 document of `/api/v1`, generated from the route table."""

from __future__ import annotations

import re
from typing import Any

from abusedesk.web.console.endpoint import Endpoint

_PARAM = re.compile(r"\{(\w+)\}")
_ERROR = {
    "description": "",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def openapi_document(endpoints: tuple[Endpoint, ...], version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        if not endpoint.api:
            continue
        operation: dict[str, Any] = {
            "operationId": endpoint.name,
            "summary": endpoint.summary,
            "security": [{"token": []}],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _PARAM.findall(endpoint.path)
            ],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
                "401": _error("no valid API token"),
                "404": _error("missing, or outside the token's scope (the same answer)"),
            },
        }
        if endpoint.method == "GET":
            operation["parameters"].append(
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}
            )
        if endpoint.fields:
            operation["requestBody"] = {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                name: {"type": "string", "description": meaning}
                                for name, meaning in endpoint.fields.items()
                            },
                        },
                        "example": dict(endpoint.example),
                    }
                },
            }
            operation["responses"]["400"] = _error("the body is not valid")
            operation["responses"]["409"] = _error("refused in the object's current state")
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "abusedesk review API",
            "version": version,
            "description": "The review console's operations, scoped exactly like the console: "
            "a domain admin's token reaches one domain, a company admin's their company, "
            "staff everything. Issue a token with `abusedesk users token USER`.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                }
            },
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {**_ERROR, "description": description}
