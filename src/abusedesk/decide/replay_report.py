"""What a replay found: per rule, what the current rules did and what the candidate would do."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SHOWN = 10


@dataclass
class ReplayReport:
    candidate_path: str
    since: datetime
    until: datetime
    events: int = 0
    engine_calls: int = 0
    seconds: float = 0.0
    fired_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    suspensions: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: {"current": set(), "candidate": set()})
    )
    escalations: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: {"current": set(), "candidate": set()})
    )

    def fired(self, rule: str) -> None:
        self.fired_counts[rule] += 1

    def candidate_suspension(self, rule: str, address: str) -> None:
        self.suspensions[rule]["candidate"].add(address)

    def current_suspension(self, rule: str, address: str) -> None:
        self.suspensions[rule]["current"].add(address)

    def candidate_escalation(self, pattern: str, key: str) -> None:
        self.escalations[pattern]["candidate"].add(key)

    def current_escalation(self, pattern: str, key: str) -> None:
        self.escalations[pattern]["current"].add(key)

    def as_json(self) -> dict[str, Any]:
        def compare(table: dict[str, dict[str, set[str]]]) -> dict[str, Any]:
            return {
                name: {
                    "current": len(sides["current"]),
                    "candidate": len(sides["candidate"]),
                    "added": sorted(sides["candidate"] - sides["current"]),
                    "removed": sorted(sides["current"] - sides["candidate"]),
                }
                for name, sides in sorted(table.items())
            }

        return {
            "candidate": self.candidate_path,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "events": self.events,
            "engine_calls": self.engine_calls,
            "seconds": round(self.seconds, 3),
            "fired": dict(sorted(self.fired_counts.items())),
            "suspensions_by_rule": compare(self.suspensions),
            "escalations_by_pattern": compare(self.escalations),
        }

    def lines(self) -> list[str]:
        data = self.as_json()
        out = [
            f"replayed {data['events']} events from {data['since']} to {data['until']} "
            f"against {data['candidate']} in {data['seconds']:.1f}s",
            "",
            f"{'suspensions by rule':32} {'current':>8} {'candidate':>10} {'added':>6} "
            f"{'removed':>8}",
        ]
        for title, key in (
            ("suspensions", "suspensions_by_rule"),
            ("escalations", "escalations_by_pattern"),
        ):
            if key != "suspensions_by_rule":
                out += ["", f"{title + ' by pattern':32}"]
            rows = data[key]
            if not rows:
                out.append(f"  (no {title} either way)")
            for name, row in rows.items():
                out.append(
                    f"  {name:30} {row['current']:>8} {row['candidate']:>10} "
                    f"{len(row['added']):>6} {len(row['removed']):>8}"
                )
                for word in ("added", "removed"):
                    if row[word]:
                        more = len(row[word]) - SHOWN
                        shown = ", ".join(row[word][:SHOWN]) + (
                            f" … and {more} more" if more > 0 else ""
                        )
                        out.append(f"      {word}: {shown}")
        return out
