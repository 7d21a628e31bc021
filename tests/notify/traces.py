"""Find an address in a text however it is encoded: the tests' judge of redaction.

This decodes independently of `abusedesk.notify.spellings` (stdlib decoders,
tried in every order, and base64 tried at every offset of every token), so
a spelling the redactor does not know is found here and fails the test.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import itertools
import quopri
import re
import urllib.parse
from collections.abc import Callable, Iterable

_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{8,}")
_BASE64_BLOCK = re.compile(r"(?:^[A-Za-z0-9+/]{8,}={0,2}\r?$\n?)+", re.MULTILINE)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})")


def _quoted_printable(text: str) -> str:
    return quopri.decodestring(text.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")


def _json(text: str) -> str:
    return _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


DECODERS: tuple[Callable[[str], str], ...] = (
    _quoted_printable,
    urllib.parse.unquote,
    urllib.parse.unquote_plus,
    html.unescape,
    _json,
)


def decodings(text: str, depth: int = 3) -> set[str]:
    """`text` and what every sequence of up to `depth` decoders makes of it."""
    found = {text}
    for length in range(1, depth + 1):
        for chain in itertools.product(DECODERS, repeat=length):
            decoded = text
            for decode in chain:
                decoded = decode(decoded)
            found.add(decoded)
    return found


def base64_tokens(text: str) -> set[str]:
    """What every base64 token of `text` decodes to, read from each of its first four
    characters (an address may start at any alignment of a longer encoded string)."""
    found: set[str] = set()
    for token in _BASE64_RUN.findall(text):
        for offset in range(4):
            found.add(_b64(token[offset:]))
    return found


def base64_blocks(text: str) -> set[str]:
    """What every wrapped base64 block (a MIME body) decodes to."""
    return {_b64(re.sub(r"\s", "", block)) for block in _BASE64_BLOCK.findall(text)}


def _b64(token: str) -> str:
    token = token.replace("-", "+").replace("_", "/").rstrip("=")
    token = token[: len(token) - len(token) % 4] if len(token) % 4 == 1 else token
    try:
        data = base64.b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return ""
    return data.decode("latin-1")


def spellings_found(text: str, address: str, *, words: Iterable[str] = ()) -> list[str]:
    """Which traces of `address` (and of `words`, such as its local part alone or a
    name) are still in `text`, in any letter case and any encoding; empty when none."""
    address = address.lower()
    local, _, domain = address.rpartition("@")
    wanted = {
        address: "the address",
        f"{local}={domain}": "the address, VERP-encoded",
        address.encode().hex(): "the address in hex",
    }
    for name in ("md5", "sha1", "sha256"):
        digest = hashlib.new(name, address.encode(), usedforsecurity=False).hexdigest()
        wanted[digest] = f"its {name}"
    wanted |= {word.lower(): f"the word {word!r}" for word in words}
    texts = decodings(text)
    for block in {b for t in texts for b in base64_blocks(t)}:
        texts |= decodings(block, depth=2)
    tokens = {decoded for t in set(texts) for decoded in base64_tokens(t)}
    texts |= tokens | {d for t in tokens if "%" in t or "&" in t for d in decodings(t, depth=1)}
    found: list[str] = []
    for decoded in texts:
        folded = decoded.lower()
        for needle, what in wanted.items():
            if needle in folded and what not in found:
                found.append(what)
    return found
