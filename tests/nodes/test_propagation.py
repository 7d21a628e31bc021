"""What one node changes reaches the others within a second, through the database alone.

The policy node is an `abusedesk serve --policy` process of its own; the test
process is the other node, suspending and lifting through the same code the
rules and the console use. Each lag is measured from before the change's
transaction began to the policy node's first answer that shows it: an upper
bound of the real lag.

Rules are a file each node reads (shared, or deployed to each by
configuration management): two nodes reading one file both run a change
within a second.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from abusedesk.accounts.csv_reader import read_account_rows
from abusedesk.accounts.importer import import_accounts
from abusedesk.store.engine import create_database_engine
from abusedesk.store.migrate import upgrade_database
from tests.conftest import DEFAULT_RULES, DEMO
from tests.enforce.lifecycle import lift, suspend
from tests.support.nodes import Node

RULES = DEFAULT_RULES
ROUNDS = 5
LIMIT_SECONDS = 1.0


def seconds_until(condition: Callable[[], bool], began: float, limit: float = 10.0) -> float:
    while not condition():
        if time.monotonic() - began > limit:
            raise AssertionError(f"not seen after {limit} s")
        time.sleep(0.005)
    return time.monotonic() - began


@pytest.mark.slow
def test_suspensions_and_lifts_reach_another_nodes_policy_service_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    engine = create_database_engine(database_url)
    upgrade_database(engine)
    import_accounts(engine, read_account_rows(DEMO / "accounts.csv"))
    node = Node("policy", database_url, tmp_path, RULES, "--policy")
    address = "alice@shop.example"
    suspended: list[float] = []
    lifted: list[float] = []
    try:
        node.start(node.policy_port)
        assert node.policy_answer(address) == "DUNNO"
        for _ in range(ROUNDS):
            began = time.monotonic()
            suspend(engine, address)
            suspended.append(
                seconds_until(lambda: node.policy_answer(address).startswith("REJECT"), began)
            )
            assert node.policy_answer("bob@shop.example") == "DUNNO"
            began = time.monotonic()
            lift(engine, address)
            lifted.append(seconds_until(lambda: node.policy_answer(address) == "DUNNO", began))
    finally:
        node.stop()
        engine.dispose()
    print(
        f"\n{engine.dialect.name}: suspension reached the policy node in at most "
        f"{max(suspended) * 1000:.0f} ms (median {sorted(suspended)[ROUNDS // 2] * 1000:.0f}), "
        f"a lift in at most {max(lifted) * 1000:.0f} ms "
        f"(median {sorted(lifted)[ROUNDS // 2] * 1000:.0f}); limit {LIMIT_SECONDS * 1000:.0f} ms"
    )
    assert max(suspended) < LIMIT_SECONDS
    assert max(lifted) < LIMIT_SECONDS


def running_rules(node: Node) -> str:
    status = Path(node.env["ABUSEDESK_DATA_DIR"]) / "rules-status.json"
    try:
        return str(json.loads(status.read_text())["active_sha256"])
    except (OSError, ValueError, KeyError):
        return ""


@pytest.mark.slow
def test_a_rules_change_reaches_every_node_reading_the_file_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "shared" / "rules.yaml"
    rules.parent.mkdir()
    rules.write_bytes(RULES.read_bytes())
    nodes = [Node(f"worker-{i}", database_url, tmp_path, rules, "--worker") for i in (1, 2)]
    try:
        nodes[0].launch()  # the first creates the schema; the second finds it
        for node in nodes[1:]:
            node.launch()
        old = hashlib.sha256(rules.read_bytes()).hexdigest()
        began = time.monotonic()
        seconds_until(lambda: all(running_rules(node) == old for node in nodes), began, 60)
        changed = RULES.read_text().replace("complaint_limit: 5", "complaint_limit: 2")
        new = hashlib.sha256(changed.encode()).hexdigest()
        temporary = rules.with_suffix(".tmp")
        temporary.write_text(changed)
        began = time.monotonic()
        temporary.replace(rules)  # as configuration management does: whole, at once
        lags = [seconds_until(lambda n=node: running_rules(n) == new, began) for node in nodes]
    finally:
        for node in nodes:
            node.stop()
    print(f"\nrules change running on both nodes after {max(lags) * 1000:.0f} ms")
    assert max(lags) < LIMIT_SECONDS
