"""Benchmark: `abusedesk accounts import` of a 100,000-row CSV on SQLite, then the re-import.

Baseline in the same run: reading and validating the same CSV without touching the
database (the floor any import must pay). Prints seconds and the ratio of each
import to that baseline. Target: the first import under 20 s; the re-import
changes nothing.

    python bench/accounts_import.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from abusedesk.accounts.csv_reader import read_account_rows


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("company,company_abuse_contact,domain,address,created_at\n")
        for i in range(rows):
            company = i % 500
            out.write(
                f"Reseller {company},abuse@reseller{company}.example,d{i % 5000}.example,"
                f"user{i}@d{i % 5000}.example,2025-{1 + i % 12:02d}-01T12:00:00Z\n"
            )


def timed_cli(data_dir: Path, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "abusedesk", *args],
        env={"ABUSEDESK_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "accounts.csv"
        write_csv(csv_path, rows)
        start = time.perf_counter()
        read_account_rows(csv_path)
        baseline = time.perf_counter() - start
        first, first_out = timed_cli(Path(tmp) / "data", "accounts", "import", str(csv_path))
        second, second_out = timed_cli(Path(tmp) / "data", "accounts", "import", str(csv_path))
    print(f"rows: {rows}")
    print(f"baseline (read + validate CSV only): {baseline:.2f} s")
    print(
        f"first import (CLI, SQLite):  {first:.2f} s  ratio to baseline {first / baseline:.1f}x  "
        f"target < 20 s: {'met' if first < 20 else 'NOT met'}"
    )
    print(f"  {first_out}")
    print(
        f"re-import (CLI, SQLite):     {second:.2f} s  ratio to baseline {second / baseline:.1f}x"
    )
    print(f"  {second_out}")


if __name__ == "__main__":
    main()
