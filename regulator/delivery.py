"""Delivery (§6, point 6): push to SEC's endpoint, and acknowledgements however they come.

Push protocol (docs/regulator.md), batch by batch in order, the next only after SEC
acknowledged the previous one:

    PUT  {REGULATOR_PUSH_URL}/lotes/{n}/{file}      each page and interval file
    POST {REGULATOR_PUSH_URL}/lotes/{n}/manifiesto  the manifest's bytes

every request with `Authorization: Bearer {REGULATOR_PUSH_TOKEN}`, `Idempotency-Key` (the
batch number, `/file` for a file) and the sha256 of the body (`X-Content-SHA256`). SEC answers
the manifest with `200` and `{"batch": n, "manifest_sha256": "...", "status": "aplicado" |
"ya_aplicado"}`: that is the acknowledgement, recorded with the batch. Anything else (a
refusal, an error, a timeout, a cut connection, an answer that is not that JSON) is an
attempt recorded with what happened, retried with exponential backoff; after
REGULATOR_PUSH_ALARM_AFTER failed attempts the batch is in alarm, shown to planners on the
deliveries page. A batch is never dropped: it stays until acknowledged, by push or by pull.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from regulator import files
from regulator.faults import crash_point
from regulator.models import Batch, PushAttempt

log = logging.getLogger(__name__)

LOCK_KEY = 7_261_016  # pg_try_advisory_lock: one pusher at a time
USER_AGENT = "portal-red-distribucion/regulador"


class AlreadyAcknowledged(Exception):
    pass


class OutOfOrder(Exception):
    pass


class WrongManifest(Exception):
    pass


def acknowledge(number: int, manifest_sha256: str, via: str, user=None) -> Batch:
    """Record SEC's acknowledgement of batch `number`: in order, once, for the manifest we cut.
    Raises Batch.DoesNotExist, AlreadyAcknowledged, OutOfOrder or WrongManifest."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(number=number)
        if batch.acknowledged:
            raise AlreadyAcknowledged(
                f"El lote {number} ya fue acusado el {batch.acknowledged_at:%Y-%m-%d %H:%M}."
            )
        if batch.manifest_sha256 != manifest_sha256:
            raise WrongManifest(f"El sha256 no es el del manifiesto del lote {number}.")
        pending = Batch.objects.filter(number__lt=number, acknowledged_at__isnull=True)
        if pending.exists():
            first = pending.order_by("number").first().number
            raise OutOfOrder(f"Falta acusar el lote {first} antes del {number}.")
        batch.acknowledged_at = timezone.now()
        batch.acknowledged_via = via
        batch.acknowledged_by = user
        batch.alarm = False
        batch.next_push_at = None
        batch.save(
            update_fields=[
                "acknowledged_at",
                "acknowledged_via",
                "acknowledged_by",
                "alarm",
                "next_push_at",
            ]
        )
        crash_point("ack.before_commit")
    return batch


# --- Push --------------------------------------------------------------------------------------


class PushFailed(Exception):
    def __init__(self, outcome: str, detail: str, status: int | None = None):
        super().__init__(detail)
        self.outcome, self.detail, self.status = outcome, detail, status


def push_pending(now=None) -> list[int]:
    """Push the unacknowledged batches that are due, oldest first, stopping at the first that
    fails (the next ones wait for it). Returns the numbers acknowledged."""
    if not settings.REGULATOR_PUSH_URL:
        return []
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cur.fetchone()[0]:
            return []
    try:
        acknowledged = []
        for batch in Batch.objects.filter(acknowledged_at__isnull=True).order_by("number"):
            now = timezone.now()
            if batch.next_push_at and batch.next_push_at > now:
                break
            if not push(batch):
                break
            acknowledged.append(batch.number)
        return acknowledged
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def push(batch: Batch) -> bool:
    """One attempt to push `batch`; True when SEC acknowledged it."""
    try:
        answer = _send(batch)
        crash_point("push.after_send")
        if answer.get("batch") != batch.number or answer.get("manifest_sha256") != (
            batch.manifest_sha256
        ):
            raise PushFailed(
                PushAttempt.Outcome.GARBAGE,
                f"El acuse no corresponde al lote {batch.number}: {_clip(json.dumps(answer))}",
                200,
            )
    except PushFailed as failure:
        _failed(batch, failure)
        return False
    with transaction.atomic():
        PushAttempt.objects.create(
            batch=batch,
            outcome=PushAttempt.Outcome.ACKNOWLEDGED,
            status_code=200,
            detail=answer.get("status", ""),
        )
        with contextlib.suppress(AlreadyAcknowledged):  # SEC also pulled it meanwhile
            acknowledge(batch.number, batch.manifest_sha256, "push")
        Batch.objects.filter(pk=batch.pk).update(push_attempts=batch.push_attempts + 1)
        crash_point("push.before_commit")
    log.info("lote %s acusado por la SEC (envío)", batch.number)
    return True


def _failed(batch: Batch, failure: PushFailed) -> None:
    attempts = batch.push_attempts + 1
    delay = min(
        settings.REGULATOR_PUSH_BACKOFF * 2 ** (attempts - 1), settings.REGULATOR_PUSH_BACKOFF_MAX
    )
    alarm = attempts >= settings.REGULATOR_PUSH_ALARM_AFTER
    with transaction.atomic():
        PushAttempt.objects.create(
            batch=batch,
            outcome=failure.outcome,
            status_code=failure.status,
            detail=_clip(failure.detail),
        )
        Batch.objects.filter(pk=batch.pk).update(
            push_attempts=attempts,
            next_push_at=timezone.now() + timedelta(seconds=delay),
            last_error=_clip(failure.detail),
            alarm=alarm,
        )
    batch.refresh_from_db()
    log.warning(
        "lote %s: envío fallido (%s, intento %s)%s: %s",
        batch.number,
        failure.outcome,
        attempts,
        " — ALARMA" if alarm else "",
        failure.detail,
    )


def _send(batch: Batch) -> dict:
    directory = files.batch_dir(batch.number)
    manifest_raw = (directory / files.MANIFEST_FILE).read_bytes()
    manifest = json.loads(manifest_raw)
    entries = [page for e in manifest["entities"].values() for page in e["pages"]]
    entries += manifest["interval_partitions"]
    base = settings.REGULATOR_PUSH_URL.rstrip("/") + f"/lotes/{batch.number}"
    for entry in entries:
        _request(
            "PUT",
            f"{base}/{entry['file']}",
            directory / entry["file"],
            key=f"{batch.number}/{entry['file']}",
            sha256=entry["sha256"],
            content_type="application/gzip",
        )
    status, body = _request(
        "POST",
        f"{base}/manifiesto",
        manifest_raw,
        key=str(batch.number),
        sha256=hashlib.sha256(manifest_raw).hexdigest(),
        content_type="application/json",
    )
    try:
        answer = json.loads(body)
    except ValueError:
        raise PushFailed(
            PushAttempt.Outcome.GARBAGE, f"Respuesta que no es JSON: {_clip(repr(body))}", status
        ) from None
    if not isinstance(answer, dict):
        raise PushFailed(
            PushAttempt.Outcome.GARBAGE, f"Respuesta inesperada: {_clip(body)}", status
        )
    return answer


def _request(method, url, body, key, sha256, content_type) -> tuple[int, bytes]:
    data = body.read_bytes() if hasattr(body, "read_bytes") else body
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {settings.REGULATOR_PUSH_TOKEN}",
            "Idempotency-Key": key,
            "X-Content-SHA256": sha256,
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.REGULATOR_PUSH_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        detail = _clip(error.read().decode("utf-8", "replace"))
        outcome = (
            PushAttempt.Outcome.REFUSED if error.code == 409 else PushAttempt.Outcome.HTTP_ERROR
        )
        raise PushFailed(
            outcome, f"{method} {url}: HTTP {error.code} {detail}", error.code
        ) from None
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PushFailed(
            PushAttempt.Outcome.UNREACHABLE, f"{method} {url}: {reason or type(error).__name__}"
        ) from None


def _clip(text: str, limit: int = 500) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"
