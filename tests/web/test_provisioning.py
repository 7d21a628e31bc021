"""`POST /api/v1/accounts` on the running service: token required, the mailbox added, a signup."""

from __future__ import annotations

import httpx
from sqlalchemy import Engine
from tests.conftest import RunningService

from abusedesk.config import Settings
from abusedesk.service import Roles
from abusedesk.store.directory import find_mailbox

TOKEN = "s3cret-provisioning-token"


def with_token(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"web": settings.web.model_copy(update={"service_token": TOKEN})}
    )


def test_provisioning_adds_a_mailbox(settings: Settings, directory_engine: Engine) -> None:
    with RunningService(
        with_token(settings), directory_engine, Roles(smtp=False, worker=False)
    ) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        url = f"http://{host}:{port}/api/v1/accounts"
        body = {
            "address": "Promo9@FreshSignup.example",
            "signup_ip": "203.0.113.9",
            "created_at": "2026-11-27T08:00:00Z",
        }
        no_token = httpx.post(url, json=body, timeout=10)
        wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}, timeout=10)
        created = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        again = httpx.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        bad = httpx.post(
            url,
            json={"address": "x@nowhere.example"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        unknown = httpx.post(
            url,
            json={"address": "a@b.example", "admin": True},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
    assert (no_token.status_code, wrong.status_code) == (401, 401)
    assert created.status_code == 201
    assert created.json() == {"address": "promo9@freshsignup.example", "created": True}
    assert again.status_code == 200 and again.json()["created"] is False
    assert bad.status_code == 400 and "say which company" in bad.json()["error"]
    assert unknown.status_code == 400 and "unknown fields: admin" in unknown.json()["error"]
    view = find_mailbox(directory_engine, "promo9@freshsignup.example")
    assert view is not None and view.company == "Blue Mountain Web"
    assert (
        view.created_at is not None and view.created_at.isoformat() == "2026-11-27T08:00:00+00:00"
    )


def test_without_a_configured_token_everything_is_refused(
    settings: Settings, directory_engine: Engine
) -> None:
    with RunningService(settings, directory_engine, Roles(smtp=False, worker=False)) as service:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        url = f"http://{host}:{port}/api/v1/accounts"
        response = httpx.post(
            url,
            json={"address": "a@shop.example"},
            headers={"Authorization": "Bearer guess"},
            timeout=10,
        )
    assert response.status_code == 401
    assert find_mailbox(directory_engine, "a@shop.example") is None
