"""The daily cut through a real broker: Debian's redis-server on a free port, a Celery worker
in its own process on the test database, and the task sent from here over Redis (the rest of
the suite runs tasks eagerly)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

from portal.celery import app
from regulator import cut, files
from regulator.models import Batch
from regulator.tasks import cut_daily_batch
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 60  # seconds, for each wait


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition, what: str, log: Path | None = None):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    tail = read(log)[-4000:] if log else ""
    pytest.fail(f"{what}: nothing after {TIMEOUT} s\n{tail}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def broker(tmp_path):
    """A redis-server of this test's own on a free loopback port; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian's redis-server; ./dev installs it)")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_for(answers, f"redis-server on port {port}")
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(server)


@pytest.fixture
def worker(broker, settings, tmp_path, transactional_db, reference_data):
    """A Celery worker (solo pool) on the test database, with the broker above; its log."""
    settings.REGULATOR_BATCH_DIR = tmp_path / "lotes"
    db = connection.settings_dict
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        CELERY_BROKER_URL=broker,
        **{f"DB_{key}": str(db[key] or "") for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")},
        DB_CONN_MAX_AGE="0",
        REGULATOR_BATCH_DIR=str(settings.REGULATOR_BATCH_DIR),
        REGULATOR_PUSH_URL="",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "-c",
            "1",
            "-l",
            "info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"pruebas-{os.getpid()}@%h",
            "--logfile",
            str(log),
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"the worker exited ({process.returncode}):\n{read(log)}")
            return " ready." in read(log)

        wait_for(ready, "the Celery worker", log)
        yield log
    finally:
        stop(process)


def read(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""


def logged(log: Path, pattern: str) -> bool:
    return re.search(pattern, read(log)) is not None


def test_the_daily_cut_runs_in_a_worker_through_redis_and_queues_the_push(
    broker, worker, monkeypatch
):
    started = time.monotonic()
    cut.cut(initial=True)
    vnr = f.make_vnr()

    # Sent from here over Redis, not run here: not eager, and a connection of its own to the
    # broker (the app's producer pool keeps the settings' broker).
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    with app.connection_for_write(broker) as conn:
        cut_daily_batch.apply_async(connection=conn)

    batch = wait_for(lambda: Batch.objects.filter(number=1).first(), "batch 1", worker)
    assert batch.kind == Batch.Kind.DELTA and batch.changes == 1
    manifest = json.loads((files.batch_dir(1) / files.MANIFEST_FILE).read_bytes())
    assert manifest["batch"] == 1 and list(manifest["entities"]) == ["codigos_vnr"]
    vnr_pages = manifest["entities"]["codigos_vnr"]
    assert vnr_pages["records"] == vnr_pages["inserted"] == 1
    lines = [
        json.loads(line)
        for page in vnr_pages["pages"]
        for line in gzip.decompress((files.batch_dir(1) / page["file"]).read_bytes()).splitlines()
    ]
    assert [line["op"] for line in lines] == ["insert"]
    assert vnr.code in json.dumps(lines)
    # The worker ran the cut, which queued the push; the same worker took it from Redis
    # (nothing to push: no REGULATOR_PUSH_URL).
    task = r"Task regulator\.tasks\.{}\[[0-9a-f-]+\] succeeded in [0-9.e-]+s: {}"
    wait_for(lambda: logged(worker, task.format("cut_daily_batch", "1")), "the cut", worker)
    wait_for(lambda: logged(worker, task.format("push_batches", r"\[\]")), "the push", worker)
    assert time.monotonic() - started < TIMEOUT
