"""Sender names in headers that our relay or outbound filter adds.

These headers are only *claims*: a client can write them into a message
before submitting it. `attribute_report` reads them only after the Received
chain has proven the message passed our relay, and even then only as
corroborated, lower-priority evidence (see `attributor`).
"""

from __future__ import annotations

from abusedesk.parse.report import OriginalMessage


def mailbox_in(text: str | None) -> str | None:
    """The single mailbox address in `text`, lowercased, or None.

    Accepts `alice@shop.example`, `<alice@shop.example>` and cPanel's
    `host.example: alice@shop.example`. Redacted values (`redacted`,
    `xxxx`) contain no address and give None.
    """
    if not text:
        return None
    found = [token.strip("<>\"',;:()[]") for token in text.split() if "@" in token]
    if len(found) != 1:
        return None
    local, at, domain = found[0].rpartition("@")
    if not at or not local or not domain or "@" in local or "." not in domain:
        return None
    return found[0].casefold()


def authenticated_header_claims(original: OriginalMessage, header: str | None) -> tuple[str, ...]:
    """Every mailbox named by the configured authenticated-sender header."""
    if not header:
        return ()
    named = (mailbox_in(value) for value in original.header_values(header))
    return tuple(mailbox for mailbox in named if mailbox)


def auth_results_claims(original: OriginalMessage, authserv_ids: list[str]) -> tuple[str, ...]:
    """`smtp.auth=` of passing `auth` results in Authentication-Results we wrote.

    RFC 8601 §5 has a border MTA delete incoming Authentication-Results that
    carry its own authserv-id, so after our outbound filter only its own copy
    should remain; the attributor still refuses when copies disagree.
    """
    ours = {authserv_id.casefold() for authserv_id in authserv_ids}
    if not ours:
        return ()
    claims: list[str] = []
    for value in original.header_values("Authentication-Results"):
        authserv_id, _, results = _without_comments(value).partition(";")
        words = authserv_id.split()
        if not words or words[0].casefold() not in ours:
            continue
        for result in results.split(";"):
            mailbox = _smtp_auth_of_passing_result(result)
            if mailbox:
                claims.append(mailbox)
    return tuple(claims)


def _smtp_auth_of_passing_result(result: str) -> str | None:
    passed = False
    user: str | None = None
    for token in result.split():
        key, equals, value = token.partition("=")
        if not equals:
            continue
        key = key.casefold()
        if key == "auth":
            passed = value.casefold() == "pass"
        elif key == "smtp.auth":
            user = mailbox_in(value.strip('"'))
    return user if passed else None


def _without_comments(value: str) -> str:
    """The value with RFC 5322 comments removed, in one pass (unbalanced `(` runs to the end)."""
    kept: list[str] = []
    depth = 0
    for char in value:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif not depth:
            kept.append(char)
    return "".join(kept)
