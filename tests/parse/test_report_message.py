"""`ReportMessage` keeps its content type only while its header fields stay as they were."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from abusedesk.parse.mime import ReportMessage, parse_bytes

RAW = b"From: a@example.org\nContent-Type: text/plain; charset=utf-8\n\nhello\n"


def fresh() -> ReportMessage:
    message = parse_bytes(RAW)
    assert isinstance(message, ReportMessage)
    assert message.get_content_type() == "text/plain"
    return message


def replace(message: ReportMessage) -> None:
    message.replace_header("Content-Type", "text/html")


def delete_then_set(message: ReportMessage) -> None:
    del message["Content-Type"]
    message["Content-Type"] = "text/html"


def set_type(message: ReportMessage) -> None:
    message.set_type("text/html")


def add(message: ReportMessage) -> None:
    del message["Content-Type"]
    message.add_header("Content-Type", "text/html", charset="utf-8")


def raw(message: ReportMessage) -> None:
    del message["Content-Type"]
    message.set_raw("Content-Type", "text/html")


@pytest.mark.parametrize("change", [replace, delete_then_set, set_type, add, raw])
def test_a_changed_content_type_is_seen(change: Callable[[ReportMessage], None]) -> None:
    message = fresh()
    change(message)
    assert message.get_content_type() == "text/html"
    assert message.get_content_maintype() == "text"


def test_a_changed_default_type_is_seen() -> None:
    message = parse_bytes(b"From: a@example.org\n\nhello\n")
    assert message.get_content_type() == "text/plain"
    message.set_default_type("message/rfc822")
    assert message.get_content_type() == "message/rfc822"


def test_a_changed_boundary_keeps_the_type() -> None:
    message = parse_bytes(b"Content-Type: multipart/mixed; boundary=x\n\n--x\n\nbody\n--x--\n")
    assert message.get_content_type() == "multipart/mixed"
    message.set_boundary("y")
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_boundary() == "y"
