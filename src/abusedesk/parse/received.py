"""Read `Received:` header values into `ReceivedHop` values.

A Received value is a list of clauses (`from`, `by`, `via`, `with`, `id`,
`for`) with parenthesised comments between them, then `;` and a date. Real
values are messy — folded, double-spaced, truncated, with unbalanced
parentheses such as `(using TLS with cipher=...` — and some are forged. This
module reads whatever is there and never raises; deciding which hops to
*trust* is the attribute stage's job, not this one's.

The reader finds the parenthesised comments in one pass over the parentheses,
splits the rest into words, and uses a few anchored patterns on short strings,
so its cost is linear in the length of the header; there is no regular
expression that could backtrack over a hostile value.

Formats understood:

- Postfix / Sendmail: `from HELO (rdns [IP]) (Authenticated sender: user) by
  host (Postfix) with ESMTPSA id QUEUEID for <addr>; date`, including
  `[IPv6:…]`, `unknown [IP]`, `IDENT:user@rdns [IP]` and `[IP]:port`.
- qmail: `from rdns (HELO helo) (IP)`, `(user@IP)`, and qmail-scanner's bare
  `from 1.2.3.4 by host`.
- Exim: `from rdns ([IP] helo=name)` and `from [IP] (port=N helo=name)`.
- Exchange: `from host (IP) by host (IP) with Microsoft SMTP Server … id …`.
- Gmail: `from helo (rdns. [IP])` (the trailing dot is dropped).

The authenticated sender is read only from Postfix's
`(Authenticated sender: user)` comment (`smtpd_sasl_authenticated_header`),
and only where Postfix writes it: the last comment of the `from` clause,
right before `by`. Exim's default header names no SASL user: its
`(envelope-from <…>)` is the envelope sender, which the client chooses
freely, so it is deliberately not read as an authenticated identity.

Parts of a hop are text the connecting client chose: the HELO name (Postfix
keeps its spaces and parentheses), a TLS client certificate's names, the
recipient in `for <…>` (quoted, so it may hold anything). A client can write
clauses and comments there, so a hop that can be read as more than one
layout is not read at all, and `ReceivedHop.doubts` says why:

- more than one word `by` (no genuine hop in the corpus has two), or more
  than one `from` clause: which one the receiving host wrote is unknowable,
  so neither is read;
- more than one address comment in the `from` clause: the client wrote one
  of them, so the connecting address is not read.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from abusedesk.parse.report import ReceivedHop

__all__ = ["normalise_ip", "parse_received", "parse_received_chain"]

MAX_PARSED_LENGTH = 16 * 1024
"""Longer values are read only this far: no real hop comes near it, and it
bounds the work a hostile header can ask for. `raw` keeps the whole value."""

_CLAUSE_KEYWORDS = frozenset({"from", "by", "via", "with", "id", "for"})
_AUTHENTICATED_SENDER = re.compile(r"authenticated sender:\s*([^\s()\"<>\[\]]+)", re.IGNORECASE)
_HELO_WORDS = frozenset({"helo", "ehlo", "lhlo"})
_PARENTHESIS = re.compile(r"[()]")


class _Token(NamedTuple):  # a tuple: made a dozen times a header, it must be cheap
    text: str
    is_comment: bool


@dataclass(slots=True)
class _Clause:
    keyword: str
    value: str | None
    comments: list[str]
    extra_words: list[str]


def parse_received_chain(values: Sequence[str]) -> tuple[ReceivedHop, ...]:
    """Parse every Received value, newest first, keeping the order they came in."""
    return tuple(parse_received(index, value) for index, value in enumerate(values))


def parse_received(index: int, raw: str) -> ReceivedHop:
    """Parse one Received value (folded or not) into a `ReceivedHop`; never raises."""
    try:
        return _parse(index, raw)
    except Exception:
        # A reader of hostile input must not take a whole report down with it;
        # a hop we could not read is still recorded with its raw text.
        return ReceivedHop(index=index, raw=raw)


def normalise_ip(text: str) -> str | None:
    """`text` as a canonical IP address string, or None when it is not one.

    Accepts the `IPv6:` prefix of RFC 5321 address literals and maps
    IPv4-mapped IPv6 addresses to plain IPv4, so `::ffff:198.51.100.5` and
    `198.51.100.5` compare equal.
    """
    if len(text) > _LONGEST_CACHED_IP:
        return _normalise_ip(text)
    return _normalise_short_ip(text)


_LONGEST_CACHED_IP = 64
"""Longer text (no address but one with a long IPv6 zone) is not kept in the cache,
so hostile headers cannot fill it with big keys."""


def _normalise_ip(text: str) -> str | None:
    candidate = text.strip()
    if candidate[:5].lower() == "ipv6:":
        candidate = candidate[5:]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


# The same relays' addresses come back all day, and the stdlib's parse is slow.
_normalise_short_ip = functools.lru_cache(maxsize=4096)(_normalise_ip)


def _parse(index: int, raw: str) -> ReceivedHop:
    text = " ".join(raw[:MAX_PARSED_LENGTH].split())
    clause_text, semicolon, date_text = text.rpartition(";")
    if not semicolon:
        clause_text, date_text = text, ""
    date = _parse_date(date_text)
    # Counted in the raw words, comments included: a `by` the client hid in a
    # comment it opened in its HELO and closed in its recipient is still seen.
    if sum(1 for word in clause_text.split(" ") if word.casefold() == "by") > 1:
        return ReceivedHop(index=index, raw=raw, date=date, doubts=(_TWO_BY,))
    tokens = _tokenize(clause_text)
    clauses = _clauses(tokens)
    if sum(1 for clause in clauses if clause.keyword == "from") > 1:
        return ReceivedHop(index=index, raw=raw, date=date, doubts=(_TWO_FROM,))

    first = _first_of_each(clauses)
    from_clause = first.get("from")
    by_clause = first.get("by")
    after_by = _first_of_each(clauses[clauses.index(by_clause) :]) if by_clause else first

    doubts: list[str] = []
    helo, rdns, ip = (None, None, None)
    if from_clause is not None:
        if _address_comments(from_clause) > 1:
            doubts.append(_TWO_ADDRESSES)
            helo = from_clause.value
        else:
            helo, rdns, ip = _read_from_part(from_clause)
    with_clause = after_by.get("with") or first.get("with")
    id_clause = after_by.get("id") or first.get("id")
    for_clause = after_by.get("for") or first.get("for")

    return ReceivedHop(
        index=index,
        raw=raw,
        from_helo=helo,
        from_rdns=rdns,
        from_ip=ip,
        by_host=_hostname(by_clause.value) if by_clause else None,
        with_protocol=with_clause.value if with_clause else None,
        queue_id=id_clause.value if id_clause else None,
        for_address=_address(for_clause.value) if for_clause else None,
        authenticated_sender=_authenticated_sender(tokens),
        date=date,
        doubts=tuple(doubts),
    )


_TWO_BY = (
    "it has more than one word 'by', so which `by` clause the receiving host wrote is "
    "unknowable (the client chooses its HELO name and recipient); it was not read"
)
_TWO_FROM = (
    "it has more than one `from` clause, so which one the receiving host wrote is "
    "unknowable; it was not read"
)
_TWO_ADDRESSES = (
    "its `from` clause has more than one address comment, one of them written by the "
    "client (in its HELO name or certificate), so the connecting address was not read"
)


def _address_comments(clause: _Clause) -> int:
    """How many of the clause's comments hold a connecting address (`[IP]`, `(IP)`)."""
    return sum(1 for comment in clause.comments if _address_in_comment(comment.split())[0])


def _tokenize(text: str) -> list[_Token]:
    """Split single-spaced `text` into words and top-level comments.

    A `(` that is never closed is not a comment opener but an ordinary
    character, so `(cipher=... by relay.example` still yields the `by` clause
    instead of swallowing the rest of the header.
    """
    tokens: list[_Token] = []
    position = 0
    for opener, closer in _top_level_comments(text):
        tokens.extend(_words(text[position:opener]))
        tokens.append(_Token(text[opener + 1 : closer].strip(), is_comment=True))
        position = closer + 1
    tokens.extend(_words(text[position:]))
    return tokens


def _words(text: str) -> Iterator[_Token]:
    return (_Token(word, is_comment=False) for word in text.split(" ") if word)


def _top_level_comments(text: str) -> list[tuple[int, int]]:
    """The (open, close) positions of every parenthesised comment not inside another,
    in order, in one pass over the parentheses.

    Openers left unmatched are not comments: the tokenizer reads them as
    ordinary characters.
    """
    pairs: list[tuple[int, int]] = []
    stack: list[int] = []
    for match in _PARENTHESIS.finditer(text):
        position = match.start()
        if text[position] == "(":
            stack.append(position)
        elif stack:
            opener = stack.pop()
            # A pair closes after every pair inside it: drop those, keep the outer.
            while pairs and pairs[-1][0] > opener:
                pairs.pop()
            pairs.append((opener, position))
    return pairs


def _clauses(tokens: Sequence[_Token]) -> list[_Clause]:
    """Group tokens into keyword clauses; a keyword's value is the word after it.

    Comments belong to the clause they follow, and so do extra words (Exim's
    `tls TLS_AES_256…`, USA.net's `from host [IP]`). Words before the first
    keyword are ignored.
    """
    clauses: list[_Clause] = []
    current: _Clause | None = None
    expecting_value = False
    for token in tokens:
        if token.is_comment:
            expecting_value = False
            if current is not None:
                current.comments.append(token.text)
            continue
        word = token.text.lower()
        if word in _CLAUSE_KEYWORDS:
            current = _Clause(keyword=word, value=None, comments=[], extra_words=[])
            clauses.append(current)
            expecting_value = True
        elif expecting_value and current is not None:
            current.value = token.text
            expecting_value = False
        elif current is not None:
            current.extra_words.append(token.text)
    return clauses


def _first_of_each(clauses: Sequence[_Clause]) -> dict[str, _Clause]:
    """The first clause of each keyword."""
    first: dict[str, _Clause] = {}
    for clause in clauses:
        first.setdefault(clause.keyword, clause)
    return first


def _read_from_part(clause: _Clause) -> tuple[str | None, str | None, str | None]:
    """(HELO, reverse DNS name, IP) from the `from` clause and its comments.

    Postfix and Sendmail write `from HELO (rdns [IP])`; qmail and Exim write
    the host's own name or address first and put the HELO in a comment
    (`(HELO x)`, `(helo=x)`), so the role of the first word depends on
    whether such a comment is present.
    """
    helo_in_comment: str | None = None
    rdns: str | None = None
    ip: str | None = None
    address_comment_seen = False
    for comment in clause.comments:
        parts = comment.split()
        if not parts:
            continue
        if parts[0].lower() in _HELO_WORDS and len(parts) > 1:
            helo_in_comment = parts[1]
            continue
        for part in parts:
            if part[:5].lower() == "helo=" and len(part) > 5:
                helo_in_comment = part[5:]
        if not address_comment_seen:
            found, found_ip, found_rdns = _address_in_comment(parts)
            if found:
                address_comment_seen = True
                ip, rdns = found_ip, found_rdns

    word = clause.value
    word_ip = _literal_ip(word) if word else None
    if helo_in_comment is not None:
        if word_ip is not None:
            ip = ip or word_ip
        elif word and word.lower() != "unknown":
            rdns = rdns or _hostname(word)
        return helo_in_comment, rdns, ip
    if not address_comment_seen and clause.extra_words[:1]:
        # USA.net writes the address as a bare literal word: `from host [IP] by`.
        bracketed = clause.extra_words[0]
        if bracketed.startswith("["):
            address_comment_seen = True
            ip = _literal_ip(bracketed)
    if not address_comment_seen:
        # qmail-scanner's `from 1.2.3.4 by …` and Exim's `from [1.2.3.4]` put
        # the connecting address first. Only without an address comment: when
        # the receiver wrote one, the first word is the client's HELO, which
        # the client chooses and must never stand in for the address.
        ip = word_ip
    return word, rdns, ip


def _address_in_comment(parts: Sequence[str]) -> tuple[bool, str | None, str | None]:
    """(found, IP, rdns) from `rdns [IP]`, `[IP]:port`, `(IP)` or `(user@IP)`.

    `found` is true when the comment is an address comment even if the
    address itself is redacted (`[AA.BB.CC.53]`), so a redacted address is
    not replaced by a guess from elsewhere.
    """
    for position, part in enumerate(parts):
        if part.startswith("["):
            literal = part[1:].split("]", 1)[0]
            rdns = _rdns_word(parts[position - 1]) if position > 0 else None
            return True, normalise_ip(literal), rdns
    if len(parts) == 1:
        ip = normalise_ip(parts[0].rsplit("@", 1)[-1])
        if ip is not None:
            return True, ip, None
    return False, None, None


def _rdns_word(word: str) -> str | None:
    # Sendmail writes `IDENT:user@host` and `user@host` when ident succeeded.
    name = _hostname(word.rsplit("@", 1)[-1])
    if not name or name.lower() == "unknown":
        return None
    return name


def _literal_ip(word: str) -> str | None:
    if word.startswith("[") and "]" in word:
        return normalise_ip(word[1:].split("]", 1)[0])
    return normalise_ip(word)


def _hostname(word: str | None) -> str | None:
    """A host name as written, without the trailing root dot Gmail adds."""
    if word is None:
        return None
    name = word.rstrip(".")
    return name or None


def _address(word: str | None) -> str | None:
    if word is None:
        return None
    address = word.strip("<>,;")
    return address or None


def _authenticated_sender(tokens: Sequence[_Token]) -> str | None:
    """The user of Postfix's `(Authenticated sender: user)`, read only where Postfix puts it.

    Postfix writes the comment last in the `from` clause, right before `by`.
    The same text anywhere else — inside a quoted recipient in `for <…>`, in a
    HELO name before the address comment, inside a certificate's name — was
    written by the client and is inert.
    """
    for position, token in enumerate(tokens):
        if not token.is_comment and token.text.casefold() == "by":
            if position == 0 or not tokens[position - 1].is_comment:
                return None
            match = _AUTHENTICATED_SENDER.fullmatch(tokens[position - 1].text)
            return match.group(1) if match else None
    return None


def _parse_date(text: str) -> datetime | None:
    """The hop's date as aware UTC, or None when missing or unreadable."""
    text = text.strip()
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        # RFC 5322 `-0000` means "UTC, origin unknown"; the stdlib returns it naive.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
