"""The property of §6: whatever happens (random edits, a process killed with SIGKILL during
the cut, during a push or during an acknowledgement, SEC's receiver down, failing, answering
garbage, too slow or cutting the connection mid-page), once the receiver is back and the
batches are delivered, SEC's mirror equals a fresh full export: nothing lost, nothing applied
twice, no committed batch rewritten.

The cuts and pushes run as real `manage.py` processes against the test database; the crash
points (regulator/faults.py) kill them with SIGKILL at the worst moments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from network.models import Customer, Feeder, Pole
from regulator import cut, delivery, files
from regulator.models import Batch, Change
from regulator.receiver import Mirror, PushEndpoint
from tests import factories as f
from tests.regulator.helpers import fresh_export, serve

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "secreto-sec"
CUT_CRASHES = (None, *[p for p in ("cut.after_assign", "cut.after_pages", "cut.after_publish",
               "cut.before_commit", "cut.after_commit")])  # fmt: skip
PUSH_CRASHES = (None, "push.after_send", "push.before_commit", "ack.before_commit")
RECEIVER = ("ok", "error", "garbage", "slow", "cut", "down")
EXAMPLES = int(os.environ.get("REGULATOR_CRASH_EXAMPLES", "6"))


class CountingEndpoint(PushEndpoint):
    """SEC's receiver, counting how many times it applied each batch."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.applied: Counter = Counter()
        self.mode = "ok"

    def handle(self, environ):
        if self.mode == "error":
            return 500, {"error": "interno"}
        if self.mode == "slow":
            threading.Event().wait(1.2)
        status, body = super().handle(environ)
        if body.get("status") == "aplicado":
            self.applied[body["batch"]] += 1
        if self.mode == "garbage":
            return 200, {"estado": "recibido"}  # JSON, but not an acknowledgement
        return status, body


@pytest.fixture
def world(settings, tmp_path_factory, reference_data):
    base = tmp_path_factory.mktemp("regulador")
    settings.REGULATOR_BATCH_DIR = base / "lotes"
    settings.REGULATOR_PAGE_RECORDS = 3
    settings.REGULATOR_PUSH_TOKEN = TOKEN
    settings.REGULATOR_PUSH_TIMEOUT = 0.6
    settings.REGULATOR_PUSH_BACKOFF = 0
    endpoint = CountingEndpoint(base / "sec" / "espejo.sqlite3", TOKEN)
    with serve(endpoint) as url:
        settings.REGULATOR_PUSH_URL = url
        feeder = f.make_feeder()
        for _ in range(3):
            f.make_pole(feeder=feeder)
        f.make_customer()
        cut.cut(initial=True)
        yield {"endpoint": endpoint, "base": base}


def run_command(args: list[str], crash: str | None, push_url: str | None = None) -> int:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DB_NAME": db["NAME"],
        "DB_USER": db["USER"],
        "DB_PASSWORD": db["PASSWORD"],
        "DB_HOST": db["HOST"],
        "DB_PORT": str(db["PORT"]),
        "REGULATOR_BATCH_DIR": str(django_settings.REGULATOR_BATCH_DIR),
        "REGULATOR_PAGE_RECORDS": str(django_settings.REGULATOR_PAGE_RECORDS),
        "REGULATOR_PUSH_URL": push_url or django_settings.REGULATOR_PUSH_URL,
        "REGULATOR_PUSH_TOKEN": TOKEN,
        "REGULATOR_PUSH_TIMEOUT": str(django_settings.REGULATOR_PUSH_TIMEOUT),
        "REGULATOR_PUSH_BACKOFF": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REGULATOR_CRASH_AT", None)
    if crash:
        env["REGULATOR_CRASH_AT"] = crash
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    if crash is None:
        assert done.returncode in (0, 1), done.stderr.decode()[-2000:]
    return done.returncode


# --- Random edits ------------------------------------------------------------------------------


def edit(kind: str, n: int) -> None:
    feeder = Feeder.objects.order_by("?").first()
    if kind == "add_pole":
        f.make_pole(feeder=feeder)
    elif kind == "update_poles":
        Pole.objects.filter(pk__in=Pole.objects.order_by("?").values("pk")[: n % 4 + 1]).update(
            height_m=Decimal(9 + n % 5)
        )
    elif kind == "delete_pole":
        spare = Pole.objects.filter(spans_in__isnull=True, spans_out__isnull=True)
        spare = spare.filter(transformers__isnull=True, equipment__isnull=True)
        victim = spare.order_by("?").first()
        if victim is not None:
            victim.delete()
    elif kind == "rename_feeder":
        feeder.code = f"AL-R{n}-{feeder.pk}"
        feeder.save()
    elif kind == "customer":
        Customer.objects.filter(pk=Customer.objects.order_by("?").values("pk")[:1]).update(
            name=f"Cliente editado {n}"
        )
    elif kind == "vnr":
        f.make_vnr(description=f"Código {n}")
    elif kind == "raw_sql":
        with connection.cursor() as cur:
            cur.execute("UPDATE network_pole SET material = %s WHERE id %% 2 = 0", [f"m{n}"])
    elif kind == "truncate_spans":
        with connection.cursor() as cur:
            # Equipment references the span it switches: truncated with the spans.
            cur.execute("TRUNCATE network_span, network_equipment, network_equipmentsetting")
        f.make_span(feeder=feeder)


EDITS = ("add_pole", "update_poles", "delete_pole", "rename_feeder", "customer", "vnr",
         "raw_sql", "truncate_spans")  # fmt: skip

step = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(EDITS), st.integers(0, 1000)),
    st.tuples(st.just("cut"), st.sampled_from(CUT_CRASHES), st.just(0)),
    st.tuples(st.just("push"), st.sampled_from(PUSH_CRASHES), st.sampled_from(RECEIVER)),
)


@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=3, max_size=7))
def test_the_mirror_equals_a_fresh_export_after_any_crashes_and_outages(world, steps):
    endpoint = world["endpoint"]
    for action, what, extra in steps:
        if action == "edit":
            edit(what, extra)
        elif action == "cut":
            code = run_command(["cut_regulator_batch"], what)
            if what and what != "cut.after_commit":
                assert code == -signal.SIGKILL
        else:
            endpoint.mode = "ok" if extra == "down" else extra
            dead = "http://127.0.0.1:9" if extra == "down" else None
            run_command(["push_regulator_batches"], what, push_url=dead)

    # The receiver is back: deliver what is left.
    endpoint.mode = "ok"
    if Change.objects.filter(batch__isnull=True).exists():
        run_command(["cut_regulator_batch"], None)
    for _ in range(3):
        Batch.objects.update(next_push_at=None)
        delivery.push_pending()
    numbers = list(Batch.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(len(numbers))), "batches are numbered without gaps"
    assert not Batch.objects.filter(acknowledged_at__isnull=True).exists()
    assert not Change.objects.filter(batch__isnull=True).exists()
    # No committed batch was rewritten by a crashed cut of the next number.
    for batch in Batch.objects.all():
        sha256, _size = files.sha256_file(files.batch_dir(batch.number) / files.MANIFEST_FILE)
        assert sha256 == batch.manifest_sha256, f"lote {batch.number} reescrito"

    mirror = Mirror(endpoint.mirror_path)
    try:
        assert mirror.last_applied()[0] == numbers[-1]
        assert mirror.records() == fresh_export()
    finally:
        mirror.close()
    # Each batch was applied once (batch 0 went by push too, at the first delivery).
    assert all(count == 1 for count in endpoint.applied.values()), endpoint.applied
