"""Notice templates: built-in ones render; overrides by company; mistakes found before sending."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from abusedesk.config import Settings
from abusedesk.decide import policy_engine
from abusedesk.errors import ConfigError
from abusedesk.notify.context import NoticeContext, Sample
from abusedesk.notify.templates import NoticeTemplates
from tests.conftest import DEFAULT_RULES, run_cli
from tests.notify.conftest import at

CONTEXT = NoticeContext(
    template="aup-notice",
    company="Acme Hosting Resellers",
    domain="shop.example",
    mailbox="alice@shop.example",
    recipient="abuse@acme-resellers.example",
    fallback=False,
    platform_abuse_address="abuse@platform.example",
    rule="soft-suspend",
    rule_description="Too many complaints.",
    event_at=at(5),
    decision_id=7,
    counter="complaints_24h",
    count=6,
    window="24 hours",
    suspension_id=3,
    suspended_at=at(5),
    samples=(
        Sample(
            complaint_id=1,
            occurred_at=at(1),
            reporter="yahoo.example",
            headers=(("Subject", "<i>Sale</i> & more"),),
            excerpt="Click <a href='x'>here</a>",
        ),
    ),
    complaint_total=6,
)


def test_the_built_in_templates_render_both_parts_with_autoescaped_html() -> None:
    templates = NoticeTemplates()
    templates.check()
    rendered = templates.render(CONTEXT)
    assert rendered.subject == "Sending suspended for alice@shop.example (AUP notice)"
    assert "Subject: <i>Sale</i> & more" in rendered.text
    assert "Click <a href='x'>here</a>" in rendered.text
    assert "&lt;i&gt;Sale&lt;/i&gt; &amp; more" in rendered.html
    assert "Click &lt;a href=&#39;x&#39;&gt;here&lt;/a&gt;" in rendered.html
    assert "<i>" not in rendered.html
    fallback = templates.render(replace(CONTEXT, fallback=True, recipient="abuse@platform.example"))
    assert fallback.subject.startswith("[No abuse contact on file for Acme Hosting Resellers]")
    assert "has no valid abuse contact on file" in fallback.text


def test_a_company_override_is_used_for_that_company_only(tmp_path: Path) -> None:
    acme = tmp_path / "Acme Hosting Resellers"
    acme.mkdir()
    (acme / "aup-notice.subject").write_text("Acme: {{ notice.mailbox }} may not send\n")
    (tmp_path / "aup-notice.txt").write_text("Platform text for {{ notice.mailbox }}\n")
    templates = NoticeTemplates(tmp_path)
    templates.check()
    acme_notice = templates.render(CONTEXT)
    assert acme_notice.subject == "Acme: alice@shop.example may not send"
    assert acme_notice.text == "Platform text for alice@shop.example\n"  # the platform's override
    assert "Sample 1" in acme_notice.html  # not overridden at all: built in
    other = templates.render(replace(CONTEXT, company="Blue Mountain Web"))
    assert other.subject == "Sending suspended for alice@shop.example (AUP notice)"
    # A company name is never a path out of the templates folder.
    sneaky = templates.render(replace(CONTEXT, company="../Acme Hosting Resellers"))
    assert sneaky.subject == "Sending suspended for alice@shop.example (AUP notice)"


def test_an_override_failing_on_one_notice_falls_back_to_the_built_in(tmp_path: Path) -> None:
    (tmp_path / "aup-notice.txt").write_text(
        '{% if notice.mailbox == "alice@shop.example" %}{{ 1 // 0 }}{% endif %}custom\n'
    )
    templates = NoticeTemplates(tmp_path)
    templates.check()  # the sample notice does not trip it
    assert templates.render(replace(CONTEXT, mailbox="bob@shop.example")).text == "custom\n"
    assert "Sample 1: reported" in templates.render(CONTEXT).text


def test_a_subject_is_one_line_whatever_the_template_does(tmp_path: Path) -> None:
    (tmp_path / "aup-notice.subject").write_text("A\r\nBcc: x@evil.example\n{{ notice.mailbox }}")
    assert NoticeTemplates(tmp_path).render(CONTEXT).subject == (
        "A Bcc: x@evil.example alice@shop.example"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{% if notice.fallback %}unclosed", "Acme/aup-notice.html:1: Unexpected end of template"),
        ("{{ notice.no_such_field }}", "Acme/aup-notice.html: UndefinedError"),
        ("{{ notice.__class__.__mro__ }}", "Acme/aup-notice.html: SecurityError"),
    ],
)
def test_a_broken_override_is_a_config_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "Acme").mkdir()
    (tmp_path / "Acme" / "aup-notice.html").write_text(content)
    with pytest.raises(ConfigError, match=message.replace("/", ".")):
        NoticeTemplates(tmp_path).check()


def test_start_up_and_rules_check_refuse_a_broken_template(
    settings: Settings, tmp_path: Path, database_url: str
) -> None:
    folder = tmp_path / "notices"
    folder.mkdir()
    (folder / "escalation-notice.txt").write_text("{{ notice.evidence[0].summry }}\n")
    broken = settings.model_copy(
        update={"notices": settings.notices.model_copy(update={"templates_dir": folder})}
    )
    with pytest.raises(ConfigError, match=r"escalation-notice\.txt: UndefinedError"):
        policy_engine(broken)
    checked = run_cli(
        "rules",
        "check",
        str(DEFAULT_RULES),
        database_url=database_url,
        env={"ABUSEDESK_NOTICES__TEMPLATES_DIR": str(folder)},
    )
    assert checked.returncode == 78
    assert "escalation-notice.txt: UndefinedError" in checked.stderr
    assert "Traceback" not in checked.stderr
