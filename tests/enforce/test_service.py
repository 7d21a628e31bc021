"""Enforcement inside `abusedesk serve`: the policy port and the can-send API, on both databases."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine
from tests.conftest import RunningService
from tests.enforce.conftest import REJECT
from tests.enforce.lifecycle import delete, lift, suspend
from tests.enforce.policy_client import read_answers, request

from abusedesk.config import Settings
from abusedesk.service import Roles

TOKEN = "can-send-token"
BOB = "bob@shop.example"
ONLY_ENFORCEMENT = Roles(smtp=False, worker=False, imap=False)


def with_token(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"web": settings.web.model_copy(update={"service_token": TOKEN})}
    )


def within_a_second(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 1.0
    while not condition():
        assert time.monotonic() < deadline, "not within one second"
        time.sleep(0.01)


class CanSend:
    def __init__(self, service: RunningService) -> None:
        assert service.listening is not None and service.listening.web is not None
        host, port = service.listening.web
        self.base = f"http://{host}:{port}/api/v1/mailboxes"

    def get(self, address: str, token: str | None = TOKEN) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.base}/{address}/can-send", headers=headers, timeout=10)

    def send(self, address: str) -> bool:
        response = self.get(address)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["address"] == address.lower()
        return bool(body["send"])


def test_can_send_follows_suspension_lift_and_deletion(
    settings: Settings, directory_engine: Engine
) -> None:
    with RunningService(with_token(settings), directory_engine, ONLY_ENFORCEMENT) as service:
        api = CanSend(service)
        assert api.send(BOB) is True
        suspend(directory_engine, BOB)
        within_a_second(lambda: api.send(BOB) is False)
        assert api.send("Bob@SHOP.example") is False
        lift(directory_engine, BOB)
        within_a_second(lambda: api.send(BOB) is True)
        delete(directory_engine, BOB)
        within_a_second(lambda: api.send(BOB) is False)


def test_can_send_needs_the_service_token_and_an_address(
    settings: Settings, directory_engine: Engine
) -> None:
    with RunningService(with_token(settings), directory_engine, ONLY_ENFORCEMENT) as service:
        api = CanSend(service)
        assert api.get(BOB, token=None).status_code == 401
        assert api.get(BOB, token="wrong").status_code == 401
        assert api.get("not-an-address").status_code == 400
        assert api.get("a%20b@shop.example").status_code == 400
        assert api.get("nobody@unknown.example").json() == {
            "address": "nobody@unknown.example",
            "send": True,
        }
    # Without a configured token nothing is answered.
    with RunningService(settings, directory_engine, ONLY_ENFORCEMENT) as service:
        assert CanSend(service).get(BOB, token="").status_code == 401


def test_the_policy_port_follows_the_database(settings: Settings, directory_engine: Engine) -> None:
    with RunningService(settings, directory_engine, ONLY_ENFORCEMENT) as service:
        assert service.listening is not None and service.listening.policy is not None
        with socket.create_connection(service.listening.policy, timeout=5) as sock:

            def answer() -> str:
                sock.sendall(request(sasl_username=BOB))
                return read_answers(sock, 1)[0]

            assert answer() == "DUNNO"
            suspend(directory_engine, BOB)
            within_a_second(lambda: answer() == REJECT)
            lift(directory_engine, BOB)
            within_a_second(lambda: answer() == "DUNNO")


def test_a_web_node_without_the_policy_role_has_a_send_state_of_its_own(
    settings: Settings, directory_engine: Engine
) -> None:
    roles = Roles(smtp=False, worker=False, imap=False, policy=False)
    with RunningService(with_token(settings), directory_engine, roles) as service:
        assert service.listening is not None and service.listening.policy is None
        api = CanSend(service)
        suspend(directory_engine, BOB)
        within_a_second(lambda: api.send(BOB) is False)


def test_metrics_count_answers_and_show_the_send_state(
    settings: Settings, directory_engine: Engine
) -> None:
    suspend(directory_engine, BOB)
    with RunningService(settings, directory_engine, ONLY_ENFORCEMENT) as service:
        assert service.listening is not None and service.listening.policy is not None
        assert service.listening.web is not None
        with socket.create_connection(service.listening.policy, timeout=5) as sock:
            sock.sendall(
                request(sasl_username=BOB) + request(sasl_username="alice@shop.example") * 2
            )
            assert read_answers(sock, 3) == [REJECT, "DUNNO", "DUNNO"]
        with socket.create_connection(service.listening.policy, timeout=5) as sock:
            sock.sendall(b"garbage\n\n")
            assert read_answers(sock, 1) == []
        host, port = service.listening.web
        text = httpx.get(f"http://{host}:{port}/metrics", timeout=10).text
    assert 'abusedesk_policy_requests_total{answer="reject"} 1.0' in text
    assert 'abusedesk_policy_requests_total{answer="dunno"} 2.0' in text
    assert "abusedesk_policy_malformed_requests_total 1.0" in text
    assert "abusedesk_send_state_blocked 1.0" in text
    assert "abusedesk_send_state_version 1.0" in text
