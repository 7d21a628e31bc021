"""The policy benchmark's requests are the ones the installed Postfix really sends.

`bench/policy.py` builds its requests from `fixtures/postfix/policy-requests.txt`, recorded
from the real Postfix relay the suite starts (`python bench/_postfix_requests.py`). This
records again and compares what must not drift: which requests come, at which protocol
state, with which attributes in which order.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from tests.postfix import postfix_installed

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "_postfix_requests.py"


def recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("postfix_requests", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not postfix_installed(), reason="postfix is not installed: run scripts/setup")
def test_the_recorded_requests_are_what_postfix_sends_now() -> None:
    requests = recorder()
    seen = requests.record()
    assert requests.shape(seen) == requests.shape(requests.load()), (
        "Postfix sends other policy requests than fixtures/postfix/policy-requests.txt holds: "
        "run `python bench/_postfix_requests.py` and re-run bench/policy.py"
    )
    # What the benchmark relies on, spelt out: the SASL user in every request, the queue id
    # and the recipient count where Postfix gives them.
    rcpt, second, end = seen
    assert rcpt["sasl_username"] == second["sasl_username"] == end["sasl_username"]
    assert rcpt["queue_id"] == "" and second["queue_id"] == end["queue_id"] != ""
    assert end["recipient_count"] == "2" and len(rcpt) >= 25


def test_the_benchmark_messages_keep_every_recorded_attribute() -> None:
    requests = recorder()
    recorded = requests.load()
    made = requests.messages(["a@x.example", "b@y.example"], 8)
    names = [tuple(request) for request in recorded]
    for message in made:
        blocks = [block for block in message.decode().split("\n\n") if block]
        states = [dict(line.partition("=")[::2] for line in b.splitlines()) for b in blocks]
        assert [s["protocol_state"] for s in states][-1] == "END-OF-MESSAGE"
        assert all(s["protocol_state"] == "RCPT" for s in states[:-1])
        assert all(tuple(s) in names for s in states)
        assert states[-1]["recipient_count"] == str(len(states) - 1)
