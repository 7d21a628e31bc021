"""The audit log: who did what, filterable by actor, action and target.

Staff see every entry. A company or domain admin sees the entries about the
mailboxes, domains, companies and escalations in their scope, and their own
(`access.audit.audit_scope`, the same the CLI lists with).
"""

from __future__ import annotations

from urllib.parse import urlencode

from abusedesk.access.audit import list_audit
from abusedesk.web.console.endpoint import Call, Page
from abusedesk.web.console.forms import Paging

FILTERS = ("actor", "action", "target")


def show_audit(call: Call) -> Page:
    wanted = {name: call.query.get(name, "").strip() for name in FILTERS}
    paging = Paging.of(call.query)
    rows, more = paging.window(
        list_audit(
            call.session,
            actor=wanted["actor"] or None,
            action=wanted["action"] or None,
            target=wanted["target"] or None,
            visible_to=call.actor,
            offset=paging.offset,
            limit=paging.size + 1,
        )
    )
    return Page(
        "audit.html",
        {
            "rows": rows,
            "wanted": wanted,
            "paging": paging,
            "more": more,
            "query_string": urlencode({k: v for k, v in wanted.items() if v}),
        },
    )
