"""Worker processes: `serve` processes reports in processes of its own and looks after them.

A real `abusedesk serve` is started; its worker processes are found among its
children and killed as a crash would kill them.
"""

from __future__ import annotations

import os
import signal
import smtplib
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session
from tests.conftest import crlf
from tests.support.reports import numbered_report
from tests.support.service_process import ServiceProcess, is_running, worker_processes

from abusedesk.store.engine import create_database_engine
from abusedesk.store.tables import RawReport


def send(service: ServiceProcess, number: int) -> int:
    with smtplib.SMTP("127.0.0.1", service.port, timeout=30) as client:
        client.ehlo("mx.provider.example")
        client.mail("fbl@provider.example")
        client.rcpt("fbl@abusedesk.example")
        code, message = client.data(crlf(numbered_report(number)))
    assert code == 250, message
    return int(message.split()[-1])


def wait_until(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def status_of(database_url: str, report_id: int) -> str:
    engine = create_database_engine(database_url)
    try:
        with Session(engine) as session:
            return str(
                session.execute(
                    select(RawReport.status).where(RawReport.id == report_id)  # type: ignore[arg-type]
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_reports_are_processed_by_a_worker_process_that_is_restarted_when_it_dies(
    database_url: str, tmp_path: Path
) -> None:
    service = ServiceProcess(database_url, tmp_path, "--workers", "1")
    service.import_accounts()
    service.start()
    try:
        wait_until(lambda: worker_processes(service.pid), 30, "the worker process")
        [worker] = worker_processes(service.pid)
        first = send(service, 1)
        wait_until(lambda: status_of(database_url, first) != "pending", 30, "report 1")

        os.kill(worker, signal.SIGKILL)  # as the kernel's OOM killer would
        wait_until(
            lambda: [p for p in worker_processes(service.pid) if p != worker],
            30,
            "a new worker process",
        )
        assert len(worker_processes(service.pid)) == 1
        second = send(service, 2)
        wait_until(lambda: status_of(database_url, second) != "pending", 30, "report 2")
        assert status_of(database_url, first) == status_of(database_url, second) == "processed"
    finally:
        service.stop()


def test_a_worker_process_whose_service_was_killed_exits(database_url: str, tmp_path: Path) -> None:
    service = ServiceProcess(database_url, tmp_path, "--workers", "2")
    service.start()
    try:
        wait_until(lambda: len(worker_processes(service.pid)) == 2, 30, "two worker processes")
        workers = worker_processes(service.pid)
        service.kill()
        wait_until(lambda: not any(is_running(pid) for pid in workers), 10, "the workers to exit")
    finally:
        service.stop()


def test_without_worker_processes_the_service_processes_reports_itself(
    database_url: str, tmp_path: Path
) -> None:
    service = ServiceProcess(database_url, tmp_path, "--workers", "0")
    service.import_accounts()
    service.start()
    try:
        report = send(service, 3)
        wait_until(lambda: status_of(database_url, report) != "pending", 30, "the report")
        assert worker_processes(service.pid) == []
        assert status_of(database_url, report) == "processed"
    finally:
        service.stop()


def test_stopping_the_service_stops_its_workers(database_url: str, tmp_path: Path) -> None:
    service = ServiceProcess(database_url, tmp_path)  # the default: one worker process
    service.start()
    try:
        wait_until(lambda: worker_processes(service.pid), 30, "the worker process")
        workers = worker_processes(service.pid)
        assert len(workers) == 1
    finally:
        service.stop()
    assert service.process is not None and service.process.returncode == 0
    wait_until(lambda: not any(is_running(pid) for pid in workers), 10, "the workers to exit")
