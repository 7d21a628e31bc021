"""Helpers the page handlers share: reading form fields, paging, and acting with a flash message."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from abusedesk.errors import AbusedeskError, NotFoundError
from abusedesk.web.console.endpoint import Call, Redirect

PAGE_SIZE = 50
MAX_PAGE = 10_000


def field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def act(call: Call, back: str, action: Callable[[], str]) -> Redirect:
    """Run `action`; its message, or the reason it was refused, is the next page's flash.

    NotFoundError is not caught: out of scope answers 404 like a missing object.
    """
    try:
        done = action()
    except NotFoundError:
        raise
    except AbusedeskError as exc:
        call.session.rollback()
        return Redirect(back, str(exc), "error")
    return Redirect(back, done, "ok")


def path_part(value: str) -> str:
    return quote(value, safe="@")


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @classmethod
    def of(cls, query: Mapping[str, str], size: int = PAGE_SIZE) -> Paging:
        try:
            page = int(query.get("page", "1"))
        except ValueError:
            page = 1
        return cls(min(max(page, 1), MAX_PAGE), size)

    def window(self, rows: Sequence[Any]) -> tuple[list[Any], bool]:
        """The page's rows and whether there is a next page (the query fetched one extra row)."""
        return list(rows[: self.size]), len(rows) > self.size
