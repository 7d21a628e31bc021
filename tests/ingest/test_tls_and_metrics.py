"""STARTTLS with a configured certificate, and the Prometheus metrics endpoint."""

from __future__ import annotations

import smtplib
import ssl
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import Engine
from tests.conftest import CORPUS, RunningService, crlf

from abusedesk.config import Settings
from abusedesk.service import Roles

REPORT = crlf((CORPUS / "01-rfc5965-b1-minimal-abuse.eml").read_bytes())


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_is_offered_and_works(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    tls = settings.model_copy(
        update={"smtp": settings.smtp.model_copy(update={"tls_cert": cert, "tls_key": key})}
    )
    client_context = ssl.create_default_context(cafile=str(cert))
    client_context.check_hostname = False
    with RunningService(tls, engine, Roles(worker=False, web=False)) as service:
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
            client.ehlo("x")
            assert client.has_extn("starttls")
            client.starttls(context=client_context)
            client.ehlo("x")
            client.sendmail("fbl@provider.example", ["fbl@abusedesk.example"], REPORT)


def test_metrics_count_intake_and_processing(settings: Settings, engine: Engine) -> None:
    with RunningService(settings, engine, Roles()) as service:
        with smtplib.SMTP(*service.smtp_address, timeout=10) as client:
            client.sendmail("fbl@provider.example", ["fbl@abusedesk.example"], REPORT)
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        text = ""
        for _ in range(50):
            text = httpx.get(f"http://{host}:{port}/metrics", timeout=5).text
            if 'abusedesk_reports_processed_total{status="quarantined"} 1.0' in text:
                break
            time.sleep(0.1)
    assert 'abusedesk_reports_accepted_total{source="smtp"} 1.0' in text
    assert 'abusedesk_reports_processed_total{status="quarantined"} 1.0' in text
    assert "abusedesk_queue_depth 0.0" in text
    assert "abusedesk_smtp_sessions_total 1.0" in text
