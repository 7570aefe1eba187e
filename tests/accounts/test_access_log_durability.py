"""The access log row is written off the page's critical path (no wait for the WAL flush), yet
never lost: a web server killed with SIGKILL right after its answers leaves every row."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.models import AccessLog
from accounts.services import log_access
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# A WSGI server of its own, on the test database, that prints the port it listens on.
SERVER = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from wsgiref.simple_server import WSGIRequestHandler, make_server
from portal.wsgi import application
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
server = make_server("127.0.0.1", 0, application, handler_class=Quiet)
print(server.server_port, flush=True)
server.serve_forever()
"""


def _synchronous_commit() -> str:
    with connection.cursor() as cur:
        cur.execute("SHOW synchronous_commit")
        return cur.fetchone()[0]


def test_a_row_written_outside_a_transaction_is_committed_and_the_setting_ends_with_it(
    public_user,
):
    request = RequestFactory().get("/red/subestaciones/7/")
    request.user = public_user
    assert not connection.in_atomic_block
    log_access(request, "subestacion", "SE-007")
    # Seen from another connection: committed, not waiting in this one's transaction.
    other = connection.copy()
    try:
        with other.cursor() as cur:
            cur.execute(
                f"SELECT kind, reference, path FROM {AccessLog._meta.db_table} WHERE user_id = %s",
                [public_user.pk],
            )
            assert cur.fetchall() == [("subestacion", "SE-007", "/red/subestaciones/7/")]
    finally:
        other.close()
    assert _synchronous_commit() == "on"


def test_inside_a_transaction_the_row_goes_with_it(public_user):
    request = RequestFactory().get("/red/subestaciones/7/")
    request.user = public_user

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        log_access(request, "subestacion", "SE-007")
        assert AccessLog.objects.filter(user=public_user).count() == 1
        raise Undo
    assert not AccessLog.objects.filter(user=public_user).exists()
    assert _synchronous_commit() == "on"


def test_every_row_survives_the_web_server_killed_after_its_answers(public_user):
    comuna = f.make_comuna()
    session = Client()
    session.force_login(public_user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={session.cookies[settings.SESSION_COOKIE_NAME].value}"
    env = {
        **os.environ,
        "DB_NAME": connection.settings_dict["NAME"],
        "DEBUG": "false",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    pages = 25
    try:
        port = int(server.stdout.readline())
        url = reverse("network:search")
        answered = 0
        for page in range(pages):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(
                "GET",
                f"{url}?region={comuna.region.code}&comuna={comuna.code}&n={page}",
                headers={"Cookie": cookie},
            )
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == 200
            answered += 1
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    assert answered == pages
    rows = AccessLog.objects.filter(user=public_user, kind="busqueda")
    assert sorted(int(p.rsplit("=", 1)[1]) for p in rows.values_list("path", flat=True)) == list(
        range(pages)
    )
