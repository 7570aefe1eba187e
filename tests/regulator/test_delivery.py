"""Delivery (§6, point 6): SEC pulls with its token, or the portal pushes to SEC's receiver;
either way each batch is applied once, acknowledged once, and never lost."""

from __future__ import annotations

import time
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.urls import reverse
from knox.models import AuthToken

from accounts.models import AccessLog
from network.models import Pole
from regulator import cut, delivery, files
from regulator.models import Batch, PushAttempt
from regulator.receiver import Mirror, PullClient, PushEndpoint
from tests import factories as f
from tests.regulator.helpers import fresh_export, serve

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def batches(settings, tmp_path, reference_data):
    settings.REGULATOR_BATCH_DIR = tmp_path / "lotes"
    settings.REGULATOR_PAGE_RECORDS = 4
    settings.REGULATOR_PUSH_URL = ""


def three_batches():
    feeder = f.make_feeder()
    for _ in range(3):
        f.make_pole(feeder=feeder)
    f.make_customer()
    cut.cut(initial=True)
    Pole.objects.update(height_m=Decimal("13.0"))
    cut.cut()
    f.make_pole(feeder=feeder)
    cut.cut()


def token_for(user) -> str:
    _instance, token = AuthToken.objects.create(user)
    return token


def users(django_user_model):
    sec = django_user_model.objects.create_user("auditora_sec", "a@sec.cl", "x", profile="sec")
    planner = django_user_model.objects.create_user(
        "planificador_x", "p@dx.cl", "x", profile="planner", is_staff=True
    )
    return sec, planner


# --- Pull --------------------------------------------------------------------------------------


def test_sec_pulls_applies_and_acknowledges_every_batch_through_the_api(
    live_server, django_user_model, tmp_path
):
    three_batches()
    sec, _planner = users(django_user_model)
    client = PullClient(live_server.url + "/api/regulador", token_for(sec))
    mirror = Mirror(tmp_path / "espejo.sqlite3")

    assert client.sync(mirror) == [0, 1, 2]
    assert mirror.records() == fresh_export()
    for batch in Batch.objects.all():
        assert batch.acknowledged_via == "pull" and batch.acknowledged_by == sec
    # Downloading the customers' pages is a view of personal data: it is in the access log.
    logged = AccessLog.objects.filter(user=sec, kind=AccessLog.Kind.REGULATOR_FEED)
    assert logged.filter(reference__startswith="lote 0: clientes-").exists()

    # A crash after applying and before acknowledging: the next sync only acknowledges.
    f.make_vnr()
    cut.cut()
    number = Batch.objects.latest("number").number
    batch = Batch.objects.get(number=number)
    mirror.apply_directory(files.batch_dir(number))
    assert client.sync(mirror) == []
    batch.refresh_from_db()
    assert batch.acknowledged and mirror.records() == fresh_export()


def test_acknowledgements_unknown_repeated_out_of_order_or_wrong_answer_a_clear_4xx(
    client, django_user_model
):
    three_batches()
    sec, planner = users(django_user_model)
    auth = {"HTTP_AUTHORIZATION": f"Token {token_for(sec)}"}

    def ack(number, sha256=None):
        sha256 = sha256 or Batch.objects.get(number=number).manifest_sha256
        url = reverse("regulator-api:acknowledge", args=[number])
        body = {"manifest_sha256": sha256}
        return client.post(url, body, content_type="application/json", **auth)

    unknown = client.post(
        reverse("regulator-api:acknowledge", args=[99]),
        {"manifest_sha256": "0" * 64},
        content_type="application/json",
        **auth,
    )
    assert unknown.status_code == 404
    early = ack(1)
    assert early.status_code == 409 and early.json()["code"] == "fuera_de_orden"
    wrong = ack(0, "f" * 64)
    assert wrong.status_code == 400 and "sha256" in wrong.json()["detail"]
    missing = client.post(
        reverse("regulator-api:acknowledge", args=[0]), {}, content_type="application/json", **auth
    )
    assert missing.status_code == 400 and "manifest_sha256" in missing.json()["detail"]
    assert ack(0).status_code == 200
    again = ack(0)
    assert again.status_code == 409 and again.json()["code"] == "ya_acusado"
    assert Batch.objects.get(number=0).acknowledged_via == "pull"


def test_the_pull_api_answers_only_sec_tokens(client, django_user_model):
    three_batches()
    sec, planner = users(django_user_model)
    listing = reverse("regulator-api:batches")
    assert client.get(listing).status_code == 401
    refused = client.get(listing, HTTP_AUTHORIZATION=f"Token {token_for(planner)}")
    assert refused.status_code == 403
    page = manifest_page(0, "postes")
    url = reverse("regulator-api:file", args=[0, page])
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {token_for(planner)}").status_code == 403
    ok = client.get(listing, HTTP_AUTHORIZATION=f"Token {token_for(sec)}")
    assert ok.status_code == 200 and [b["number"] for b in ok.json()["results"]] == [0, 1, 2]
    got = client.get(url, HTTP_AUTHORIZATION=f"Token {token_for(sec)}")
    assert b"".join(got.streaming_content) == (files.batch_dir(0) / page).read_bytes()
    manifest = client.get(
        reverse("regulator-api:manifest", args=[0]), HTTP_AUTHORIZATION=f"Token {token_for(sec)}"
    )
    assert manifest["X-Manifest-SHA256"] == Batch.objects.get(number=0).manifest_sha256
    no_file = reverse("regulator-api:file", args=[0, "postes-9999.jsonl.gz"])
    assert client.get(no_file, HTTP_AUTHORIZATION=f"Token {token_for(sec)}").status_code == 404


def manifest_page(number: int, entity: str) -> str:
    import json

    manifest = json.loads((files.batch_dir(number) / files.MANIFEST_FILE).read_bytes())
    return manifest["entities"][entity]["pages"][0]["file"]


# --- Push --------------------------------------------------------------------------------------


class Faulty:
    """SEC's receiver with a switch: 'ok', 'error' (500), 'garbage' (200, not the JSON),
    'slow' (answers after the client gave up), 'cut' (closes the connection mid-page)."""

    def __init__(self, app):
        self.app, self.mode = app, "ok"

    def __call__(self, environ, start_response):
        if self.mode == "error":
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"fallo interno"]
        if self.mode == "garbage":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<html>mantencion</html>"]
        if self.mode == "slow":
            time.sleep(1.5)
        return self.app(environ, start_response)


@contextmanager
def receiver(tmp_path, token="secreto-sec"):
    endpoint = Faulty(PushEndpoint(tmp_path / "sec" / "espejo.sqlite3", token))
    with serve(endpoint) as url:
        yield endpoint, url


def test_push_delivers_in_order_survives_outages_and_raises_an_alarm(settings, tmp_path):
    three_batches()
    settings.REGULATOR_PUSH_TOKEN = "secreto-sec"
    settings.REGULATOR_PUSH_TIMEOUT = 0.5
    settings.REGULATOR_PUSH_BACKOFF = 0  # every call is due again (the backoff is tested below)
    settings.REGULATOR_PUSH_ALARM_AFTER = 4

    settings.REGULATOR_PUSH_URL = "http://127.0.0.1:9"  # nobody listens: down
    assert delivery.push_pending() == []
    with receiver(tmp_path) as (endpoint, url):
        settings.REGULATOR_PUSH_URL = url
        outcomes = []
        for mode in ("error", "garbage", "slow", "cut"):
            endpoint.mode = mode
            assert delivery.push_pending() == []
            outcomes.append(PushAttempt.objects.latest("id").outcome)
        assert outcomes == ["error_http", "respuesta_invalida", "sin_conexion", "sin_conexion"]
        first = Batch.objects.get(number=0)
        assert first.push_attempts == 5 and first.alarm and not first.acknowledged
        details = list(first.attempts.values_list("detail", flat=True))
        assert "HTTP 500" in details[1] and "mantencion" in details[2]  # what SEC answered
        assert first.last_error == details[-1] != ""
        # Nothing after batch 0 was tried while it failed.
        assert not PushAttempt.objects.exclude(batch=first).exists()

        endpoint.mode = "ok"
        time.sleep(1.6)  # the slow answer's request ends on the receiver's side
        assert delivery.push_pending() == [0, 1, 2]
    assert all(b.acknowledged_via == "push" and not b.alarm for b in Batch.objects.all())
    mirror = Mirror(tmp_path / "sec" / "espejo.sqlite3")
    assert mirror.last_applied()[0] == 2
    assert mirror.records() == fresh_export()


def test_a_push_repeated_after_a_lost_answer_is_acknowledged_not_applied_twice(settings, tmp_path):
    three_batches()
    settings.REGULATOR_PUSH_TOKEN = "secreto-sec"
    with receiver(tmp_path) as (endpoint, url):
        settings.REGULATOR_PUSH_URL = url
        first = Batch.objects.get(number=0)
        # SEC applied batch 0 but its answer never reached us (we record nothing).
        assert delivery._send(first)["status"] == "aplicado"
        assert not Batch.objects.get(number=0).acknowledged
        assert delivery.push_pending() == [0, 1, 2]
        statuses = list(
            PushAttempt.objects.filter(batch__number=0).values_list("detail", flat=True)
        )
        assert statuses == ["ya_aplicado"]
    mirror = Mirror(tmp_path / "sec" / "espejo.sqlite3")
    assert mirror.records() == fresh_export()


def test_a_failed_push_waits_with_exponential_backoff(settings, tmp_path):
    three_batches()
    settings.REGULATOR_PUSH_URL = "http://127.0.0.1:9"
    settings.REGULATOR_PUSH_BACKOFF = 60
    settings.REGULATOR_PUSH_BACKOFF_MAX = 200
    delays = []
    for _ in range(4):
        Batch.objects.filter(number=0).update(next_push_at=None)
        before = time.time()
        delivery.push_pending()
        batch = Batch.objects.get(number=0)
        delays.append(round(batch.next_push_at.timestamp() - before, -1))
    assert delays == [60, 120, 200, 200]
    # Not due: nothing is attempted.
    attempts = PushAttempt.objects.count()
    delivery.push_pending()
    assert PushAttempt.objects.count() == attempts


def test_the_alarm_is_visible_to_planners(client, django_user_model, settings):
    three_batches()
    _sec, planner = users(django_user_model)
    Batch.objects.filter(number=0).update(
        alarm=True, push_attempts=5, last_error="POST https://sec.example/lotes/0: HTTP 500"
    )
    client.force_login(planner)
    page = client.get(reverse("regulator:deliveries"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Alarma: el lote 0 no se ha podido entregar" in body and "HTTP 500" in body
    landing = client.get(reverse("landing")).content.decode()
    assert "Entregas a la SEC" in landing and "badge-alarm" in landing
