"""The notice templates: built-in Jinja files, overridable per platform and per company.

Lookup for template NAME, part PART (subject, txt, html) of company COMPANY:
`<templates_dir>/<COMPANY>/NAME.PART`, then `<templates_dir>/NAME.PART`, then the
built-in `abusedesk/templates/notices/NAME.PART`. HTML parts are autoescaped;
undefined names are errors. Every template that could be used is compiled and
rendered against a sample notice at start-up and by `rules check`, so a broken
override is found by an operator, not by the first suspension.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from abusedesk.errors import ConfigError
from abusedesk.notify.context import (
    NOTICE_TEMPLATES,
    TEMPLATE_PARTS,
    EvidenceItem,
    NoticeContext,
    Sample,
)
from abusedesk.notify.text import one_line

log = logging.getLogger(__name__)
MAX_SUBJECT_CHARS = 200


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    subject: str
    text: str
    html: str


class NoticeTemplates:
    """The Jinja environment for notices, built once at start-up and passed in."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self.templates_dir = templates_dir
        loaders: list[BaseLoader] = []
        if templates_dir is not None:
            if not templates_dir.is_dir():
                raise ConfigError(f"[notices] templates_dir {templates_dir} is not a directory")
            loaders.append(FileSystemLoader(templates_dir))
        builtin = PackageLoader("abusedesk", "templates/notices")
        self._environment = _environment(ChoiceLoader([*loaders, builtin]))
        self._builtin = _environment(builtin)

    def render(self, context: NoticeContext, company: str | None = None) -> RenderedNotice:
        """The notice's subject (one safe line), text and HTML parts."""
        owner = company if company is not None else context.company
        parts = {part: self._render_part(context, owner, part) for part in TEMPLATE_PARTS}
        return RenderedNotice(
            one_line(parts["subject"])[:MAX_SUBJECT_CHARS], parts["txt"], parts["html"]
        )

    def _render_part(self, context: NoticeContext, company: str, part: str) -> str:
        names = [f"{context.template}.{part}"]
        if _usable_folder(company):
            names.insert(0, f"{company}/{context.template}.{part}")
        try:
            return self._environment.select_template(names).render(notice=context)
        except Exception as error:  # an operator's template may fail in any way, not only Jinja's
            if self.templates_dir is None:
                raise ConfigError(f"notice template {names[-1]}: {error}") from error
            # An override that passed the start-up check but fails on this notice:
            # the built-in template still tells the reseller what happened.
            log.error("notice template %s failed (%s); using the built-in one", names[0], error)
        try:
            return self._builtin.get_template(names[-1]).render(notice=context)
        except Exception as error:
            raise ConfigError(f"notice template {names[-1]}: {error}") from error

    def check(self) -> None:
        """Compile and try every template a notice could use; ConfigError naming each problem."""
        problems: list[str] = []
        for company in [None, *self._override_companies()]:
            for name in sorted(NOTICE_TEMPLATES):
                for context in _sample_contexts(name):
                    for part in TEMPLATE_PARTS:
                        problem = self._try(context, company, part)
                        if problem and problem not in problems:
                            problems.append(problem)
        if problems:
            raise ConfigError("notice templates: " + "; ".join(problems))

    def _try(self, context: NoticeContext, company: str | None, part: str) -> str | None:
        name = f"{context.template}.{part}"
        if company is not None:
            name = f"{company}/{name}"
        try:
            template = self._environment.get_template(name)
        except TemplateSyntaxError as error:
            return f"{error.filename or name}:{error.lineno}: {error.message}"
        except TemplateError as error:
            if company is not None:
                return None  # the company overrides only some parts; the rest are inherited
            return f"{name}: {error}"
        try:
            template.render(notice=context)
        except TemplateError as error:
            return f"{template.filename or name}: {type(error).__name__}: {error}"
        return None

    def _override_companies(self) -> list[str]:
        if self.templates_dir is None:
            return []
        return sorted(p.name for p in self.templates_dir.iterdir() if p.is_dir())


def _environment(loader: BaseLoader) -> ImmutableSandboxedEnvironment:
    # Sandboxed and immutable: a template can read the notice, never change or call
    # into anything else; autoescape for the HTML part only; a misspelt name is an error.
    environment = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=lambda name: name is not None and name.endswith(".html"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["utc"] = _utc
    return environment


def _usable_folder(company: str) -> bool:
    """Whether a company name can name an override folder (never a path outside it)."""
    return (
        bool(company) and not company.startswith(".") and "/" not in company and "\\" not in company
    )


def _utc(value: datetime | None) -> str:
    """A time as the notices show it: `2026-11-20 08:05 UTC`."""
    if value is None:
        return "unknown"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _sample_contexts(template: str) -> list[NoticeContext]:
    """Notices to try a template on: a full one, an empty one, one for the fallback address."""
    at = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    sample = Sample(
        complaint_id=1,
        occurred_at=at,
        reporter="fbl.example",
        headers=(("Subject", "<b>Offer</b> {{ x }}"), ("From", "a@example.com")),
        excerpt="Buy <script>alert(1)</script> now\nsecond line",
        truncated=True,
    )
    evidence = EvidenceItem("suspension", 1, at, "a@example.com", "suspended by soft-suspend")
    full = NoticeContext(
        template=template,
        company="Example Co",
        domain="example.com",
        mailbox="a@example.com",
        recipient="abuse@example.com",
        fallback=False,
        platform_abuse_address="abuse@platform.example",
        rule="soft-suspend",
        rule_description="Too many complaints.",
        event_at=at,
        decision_id=1,
        counter="complaints_24h",
        count=6,
        window="24 hours",
        suspension_id=1,
        suspended_at=at,
        samples=(sample, sample),
        complaint_total=6,
        pattern="repeated-suspensions",
        scope="mailbox",
        scope_key="a@example.com",
        escalation_id=1,
        evidence=(evidence,),
    )
    bare = NoticeContext(
        template=template,
        company="Example Co",
        domain="example.com",
        mailbox="a@example.com",
        recipient="abuse@platform.example",
        fallback=True,
        platform_abuse_address="abuse@platform.example",
        rule="r",
        rule_description="",
        event_at=at,
        decision_id=1,
    )
    return [full, bare]
