"""The listener's quick reading of plain SMTP paths answers exactly as aiosmtpd's parser does."""

from __future__ import annotations

from email._header_value_parser import get_angle_addr
from email.errors import HeaderParseError

from aiosmtpd.smtp import SMTP
from hypothesis import given, settings
from hypothesis import strategies as st

from abusedesk.ingest.smtp_paths import plain_path

# Letters that matter to the grammar: atext, dots, the brackets, quotes, comments, spaces.
ALPHABET = 'ab.-+_=<>@"()[] \t\\,;:x1'


def stdlib_reading(argument: str) -> tuple[str, str] | None:
    try:
        address, rest = get_angle_addr(argument)
    except HeaderParseError:
        return None
    return address.addr_spec, rest


def test_aiosmtpd_still_reads_paths_in_the_method_the_listener_overrides() -> None:
    assert callable(getattr(SMTP, "_getaddr", None))


def test_plain_paths_with_parameters() -> None:
    assert plain_path("<fbl@provider.example>") == ("fbl@provider.example", "fbl", "")
    assert plain_path(" <a.b@c.d> SIZE=100 BODY=8BITMIME") == (
        "a.b@c.d",
        "a.b",
        "SIZE=100 BODY=8BITMIME",
    )


def test_anything_else_is_left_to_the_full_parser() -> None:
    for argument in [
        '<"a b"@c>',
        "<a@[192.0.2.1]>",
        "<a..b@c>",
        "<a@b>(comment) SIZE=1",
        "<@relay:a@b>",
        "a@b",
        "<>",
        "",
    ]:
        assert plain_path(argument) is None, argument


@settings(max_examples=3000)
@given(st.text(alphabet=ALPHABET, max_size=30).map(lambda text: "<" + text))
def test_whatever_it_reads_the_stdlib_reads_the_same(argument: str) -> None:
    plain = plain_path(argument)
    if plain is not None:
        address, local, rest = plain
        assert stdlib_reading(argument) == (address, rest)
        assert address.rpartition("@")[0] == local


ATOMS = st.text(alphabet="ab1-+_=.", min_size=0, max_size=8)
SUFFIXES = st.text(alphabet=ALPHABET + "SIZE=", max_size=12)


@settings(max_examples=3000)
@given(ATOMS, ATOMS, SUFFIXES, st.sampled_from(["", " ", "\t", "  "]))
def test_paths_shaped_like_plain_ones_are_read_the_same(
    local: str, domain: str, suffix: str, lead: str
) -> None:
    argument = f"{lead}<{local}@{domain}>{suffix}"
    plain = plain_path(argument)
    if plain is not None:
        assert stdlib_reading(argument) == (plain[0], plain[2])
