"""Request bodies read only up to a bound, and only once the caller is known.

Every handler that takes a body reads it through here, after it has checked
who is calling: an unauthenticated request is answered without a byte of its
body being read (only the sign-in form, which has no caller yet, is read
before, and it may hold 4 KiB). A body whose `Content-Length` is over the bound is refused
before reading; one sent without a length (chunked) is read until it passes
the bound and refused then. A refusal answers `Connection: close`, so the
server does not go on reading what the client is still sending.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

MAX_FORM_BYTES = 64 * 1024
"""A console form: a note of some pages at most."""
MAX_JSON_BYTES = 64 * 1024
"""An API call's JSON body: a few short fields and a note."""

FORM_TYPE = "application/x-www-form-urlencoded"
NUL_REFUSED = "the body holds a NUL character, which no field may contain"


@dataclass(frozen=True, slots=True)
class BadBody:
    """Why a body was refused, with the HTTP status to answer."""

    status: int
    message: str


async def read_body(request: Request, limit: int) -> bytes | BadBody:
    """The body, when it is at most `limit` bytes; else `BadBody(413)`, read no further."""
    too_large = BadBody(413, f"the body is larger than {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return BadBody(400, "the Content-Length is not a number")
        if int(declared) > limit:
            return too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(
    request: Request, limit: int = MAX_JSON_BYTES
) -> dict[str, Any] | BadBody:
    """A JSON object body (an empty body is `{}`)."""
    body = await read_body(request, limit)
    if isinstance(body, BadBody):
        return body
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return BadBody(400, "the body must be a JSON object")
    if not isinstance(parsed, dict):
        return BadBody(400, "the body must be a JSON object")
    if _holds_nul(parsed):
        return BadBody(400, NUL_REFUSED)
    return parsed


async def read_form(
    request: Request, max_fields: int, limit: int = MAX_FORM_BYTES
) -> dict[str, str] | BadBody:
    """A URL-encoded form, as the console's pages send it; a repeated field keeps its last value."""
    body = await read_body(request, limit)
    if isinstance(body, BadBody):
        return body
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return BadBody(415, f"a form must be sent as {FORM_TYPE}")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    except UnicodeDecodeError:
        return BadBody(400, "the form is not UTF-8")
    except ValueError:
        return BadBody(400, f"the form has more than {max_fields} fields")
    if any("\0" in name or "\0" in value for name, value in pairs):
        return BadBody(400, NUL_REFUSED)
    return dict(pairs)


def _holds_nul(value: Any) -> bool:
    """Whether a NUL is in any key or string of `value` (PostgreSQL cannot store one in text)."""
    pending = [value]
    while pending:  # a loop: json.loads nests as deep as the stack allows, leaving us none
        item = pending.pop()
        if isinstance(item, str):
            if "\0" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def closing(response: Response) -> Response:
    """`response` marked to close the connection: the rest of an unread body is not wanted."""
    response.headers["connection"] = "close"
    return response
