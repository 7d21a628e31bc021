"""Staff's review of unproven complaints: the candidates page, its API, and charging by hand.

Every route here is for platform staff only (the route table's audience): a
candidate is not a charge, and is often an innocent mailbox of some reseller
that an outsider named, so no reseller admin sees one. Once charged, the
complaint is an ordinary one and shows wherever its mailbox's complaints do.
The report page (`/reports/ID`) shows staff the candidate, the reason, the
evidence and the raw report, with the form that posts to `charge`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from abusedesk.act.candidates import CandidateState, list_candidates
from abusedesk.act.charge import ChargedCandidate, charge_candidate
from abusedesk.web.console.endpoint import Call, Json, Page, Redirect
from abusedesk.web.console.forms import Paging, act, field
from abusedesk.web.console.visible import report_in_scope

STATES = [state.value for state in CandidateState]


def list_candidates_page(call: Call) -> Page:
    state, mailbox, paging = _wanted(call)
    rows, more = _window(call, state, mailbox, paging)
    wanted = {"state": state.value, "mailbox": mailbox}
    return Page(
        "candidates.html",
        {
            "rows": rows,
            "wanted": wanted,
            "states": STATES,
            "paging": paging,
            "more": more,
            "query_string": urlencode({k: v for k, v in wanted.items() if v}),
        },
    )


def charge(call: Call) -> Redirect:
    report = report_in_scope(call.session, call.actor, call.params["report_id"])
    assert report.id is not None
    report_id = report.id

    def run() -> str:
        charged = charge_candidate(
            call.session,
            call.actor,
            report_id,
            field(call.body, "note"),
            policy=call.deps.policy,
        )
        return _done(charged)

    return act(call, f"/reports/{report_id}", run)


def api_list_candidates(call: Call) -> Json:
    state, mailbox, paging = _wanted(call)
    rows, more = _window(call, state, mailbox, paging)
    return Json({"candidates": [row.as_json() for row in rows], "page": paging.page, "more": more})


def api_charge(call: Call) -> Json:
    note = call.body.get("note")
    if not isinstance(note, str):
        raise ValueError("note must be a string: say why the candidate is charged")
    report = report_in_scope(call.session, call.actor, call.params["report_id"])
    assert report.id is not None
    charged = charge_candidate(call.session, call.actor, report.id, note, policy=call.deps.policy)
    return Json(charged.as_json())


def _wanted(call: Call) -> tuple[CandidateState, str, Paging]:
    try:
        state = CandidateState(call.query.get("state", CandidateState.OPEN.value))
    except ValueError:
        state = CandidateState.OPEN
    return state, call.query.get("mailbox", "").strip(), Paging.of(call.query)


def _window(
    call: Call, state: CandidateState, mailbox: str, paging: Paging
) -> tuple[list[Any], bool]:
    return paging.window(
        list_candidates(
            call.session,
            actor=call.actor,
            state=state,
            mailbox=mailbox or None,
            offset=paging.offset,
            limit=paging.size + 1,
        )
    )


def _done(charged: ChargedCandidate) -> str:
    done = f"Report {charged.report_id} charged by hand to {charged.mailbox}: it now counts."
    if charged.suspended:
        done += " The rules suspended its sending."
    elif not charged.can_send:
        done += " Its sending was suspended already."
    return done
