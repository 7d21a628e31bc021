"""The route table: every console page and API operation, with who may use it.

`ENDPOINTS` is the single list the app mounts, the OpenAPI document is made
from, and the authorization matrix test walks. Adding a route means adding
it here, which puts it under the matrix at once.
"""

from __future__ import annotations

from abusedesk.web.console import (
    api,
    audit_log,
    companies,
    dashboard,
    escalations,
    mailboxes,
    policy,
    reports,
)
from abusedesk.web.console.endpoint import Audience, Endpoint, Target

NOTE = {"note": "why: what was found, what the customer was told"}

CONSOLE: tuple[Endpoint, ...] = (
    Endpoint("/", "dashboard", dashboard.show_dashboard, "The dashboard"),
    Endpoint("/mailboxes", "mailboxes", mailboxes.find_mailboxes, "Find a mailbox"),
    Endpoint(
        "/mailboxes/{address}",
        "mailbox",
        mailboxes.show_mailbox,
        "A mailbox",
        target=Target.MAILBOX,
    ),
    Endpoint(
        "/mailboxes/{address}/services",
        "mailbox-services",
        mailboxes.save_services,
        "Lift the Send Mail suspension (uncheck it) with an outcome and a note",
        method="POST",
        target=Target.MAILBOX,
        fields={"send_suspended": "present while still suspended", "outcome": "", **NOTE},
        example={"outcome": "lifted", "note": "talked to the customer"},
    ),
    Endpoint(
        "/mailboxes/{address}/delete",
        "mailbox-delete",
        mailboxes.delete_account,
        "Delete the account (refused while suspended)",
        method="POST",
        target=Target.MAILBOX,
        fields=NOTE,
        example={"note": "closed on request"},
    ),
    Endpoint("/escalations", "escalations", escalations.list_escalations, "Escalations"),
    Endpoint(
        "/escalations/{escalation_id}",
        "escalation",
        escalations.show_escalation,
        "An escalation",
        target=Target.ESCALATION,
    ),
    Endpoint(
        "/escalations/{escalation_id}/acknowledge",
        "escalation-acknowledge",
        escalations.acknowledge,
        "Acknowledge an escalation",
        method="POST",
        target=Target.ESCALATION,
        fields=NOTE,
        example={"note": "looking into it"},
    ),
    Endpoint(
        "/escalations/{escalation_id}/resolve",
        "escalation-resolve",
        escalations.resolve,
        "Resolve an escalation with a note",
        method="POST",
        target=Target.ESCALATION,
        fields=NOTE,
        example={"note": "accounts closed"},
    ),
    Endpoint(
        "/escalations/{escalation_id}/suspend",
        "escalation-suspend",
        escalations.suspend_listed,
        "Soft-suspend every account the escalation lists",
        method="POST",
        target=Target.ESCALATION,
        fields=NOTE,
        example={"note": "fraudulent signups"},
    ),
    Endpoint("/reports", "reports", reports.search_reports, "Search reports"),
    Endpoint(
        "/reports/{report_id}", "report", reports.show_report, "A report", target=Target.REPORT
    ),
    Endpoint(
        "/reports/{report_id}/raw",
        "report-raw",
        reports.raw_report,
        "A report's raw message, as text",
        target=Target.REPORT,
    ),
    Endpoint(
        "/reports/{report_id}/reprocess",
        "report-reprocess",
        reports.reprocess,
        "Queue a quarantined report to be processed again",
        method="POST",
        target=Target.REPORT,
        audience=Audience.STAFF,
        fields=NOTE,
        example={"note": "parser fixed"},
    ),
    Endpoint("/policy", "policy", policy.show_policy, "The policy", audience=Audience.STAFF),
    Endpoint(
        "/policy/replay",
        "policy-replay",
        policy.replay_policy,
        "Replay the rules file on disk over recent history (?since=7d)",
        audience=Audience.STAFF,
    ),
    Endpoint(
        "/companies", "companies", companies.list_companies, "Companies", audience=Audience.COMPANY
    ),
    Endpoint(
        "/companies/{company_id}",
        "company",
        companies.show_company,
        "A company: abuse contacts and policy params",
        target=Target.COMPANY,
        audience=Audience.COMPANY,
    ),
    Endpoint(
        "/companies/{company_id}/contacts",
        "contact-add",
        companies.add_contact,
        "Add an abuse contact",
        method="POST",
        target=Target.COMPANY,
        audience=Audience.COMPANY,
        fields={"email": "the address", "domain": "a domain of the company, or empty"},
        example={"email": "abuse-desk@example.net"},
    ),
    Endpoint(
        "/contacts/{contact_id}",
        "contact-edit",
        companies.edit_contact,
        "Edit, verify or remove an abuse contact",
        method="POST",
        target=Target.CONTACT,
        audience=Audience.COMPANY,
        fields={"email": "the new address", "verified": "1 when verified", "remove": "1"},
        example={"email": "abuse-team@example.net", "verified": "1"},
    ),
    Endpoint(
        "/companies/{company_id}/params",
        "company-params",
        companies.set_param,
        "Set or clear a policy param for the company or one of its domains",
        method="POST",
        target=Target.COMPANY,
        audience=Audience.STAFF,
        fields={"name": "the param", "value": "empty clears it", "domain": "or the company"},
        example={"name": "complaint_limit", "value": "7"},
    ),
    Endpoint("/audit", "audit", audit_log.show_audit, "The audit log"),
)

API: tuple[Endpoint, ...] = (
    Endpoint(
        "/api/v1/suspensions",
        "api-suspensions",
        api.list_suspensions,
        "Open suspensions, newest first",
        api=True,
    ),
    Endpoint(
        "/api/v1/suspensions/{suspension_id}",
        "api-suspension",
        api.show_suspension,
        "One suspension, open or lifted",
        target=Target.SUSPENSION,
        api=True,
    ),
    Endpoint(
        "/api/v1/mailboxes/{address}",
        "api-mailbox",
        api.show_mailbox,
        "A mailbox: services and its open suspension",
        target=Target.MAILBOX,
        api=True,
    ),
    Endpoint(
        "/api/v1/mailboxes/{address}/lift",
        "api-lift",
        api.lift,
        "Lift the mailbox's send suspension",
        method="POST",
        target=Target.MAILBOX,
        api=True,
        fields={"outcome": "lifted or educated", **NOTE},
        example={"outcome": "educated", "note": "customer fixed the list"},
    ),
    Endpoint(
        "/api/v1/mailboxes/{address}/delete",
        "api-delete",
        api.delete,
        "Delete the account (409 while suspended)",
        method="POST",
        target=Target.MAILBOX,
        api=True,
        fields=NOTE,
        example={"note": "closed"},
    ),
    Endpoint(
        "/api/v1/complaints",
        "api-complaints",
        api.list_complaints,
        "Complaints, newest first (?mailbox=address)",
        api=True,
    ),
    Endpoint(
        "/api/v1/escalations",
        "api-escalations",
        api.list_escalations,
        "Escalations, newest first (?status=open)",
        api=True,
    ),
)

ENDPOINTS: tuple[Endpoint, ...] = CONSOLE + API
