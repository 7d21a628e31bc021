"""A bounded atheris run over parse + attribute, seeded with the real corpus: no exception,
no input that takes over a second."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, FIXTURES, REPO

pytestmark = pytest.mark.slow

SECONDS = int(os.environ.get("ABUSEDESK_FUZZ_SECONDS", "45"))


def test_parse_and_attribute_survive_a_fuzzer(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for path in [*CORPUS.glob("*.eml"), *FIXTURES.glob("reports/**/*.eml")]:
        shutil.copy(path, seeds / f"{path.parent.name}-{path.name}")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.parse_and_attribute",
            str(seeds),
            f"-max_total_time={SECONDS}",
            "-timeout=1",
            "-rss_limit_mb=2048",
            "-max_len=262144",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=SECONDS + 240,
    )
    found = sorted(p.name for p in tmp_path.glob("*-*") if p.is_file())
    assert done.returncode == 0, (found, done.stderr[-3000:])
    assert "Done" in done.stderr, done.stderr[-2000:]
