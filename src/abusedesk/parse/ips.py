"""Read an IP address out of a report field that may carry anything else.

`Source-IP: 148.163.85.135 (sainay.interpublication.org)` names an IP;
`x.x.x.x`, `122.XXX.XXX.XXX` and `AA.BB.CC.6` (anonymised samples) do not.
Only what `ipaddress` accepts is returned.
"""

from __future__ import annotations

import ipaddress


def read_ip(value: str | None) -> str | None:
    """The canonical form of the IP address `value` starts with, or None.

    Accepts brackets (`[192.0.2.1]`), the `IPv6:` literal prefix and a
    trailing comment or port-less hostname after whitespace.
    """
    if not value:
        return None
    text = value.strip()[:200]
    token = text.split(None, 1)[0] if text.split() else ""
    token = token.strip("[]()<>,;")
    if token[:5].lower() == "ipv6:":
        token = token[5:]
    try:
        address = ipaddress.ip_address(token)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)
