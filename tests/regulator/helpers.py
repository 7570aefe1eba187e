"""What the regulator's tests share: a fresh full export to compare SEC's mirror with."""

from __future__ import annotations

import gzip
import hashlib
import io
import socket
import threading
from contextlib import contextmanager
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.db import connection

from metering.services.partitions import partition_months, partition_name
from regulator import cut
from regulator.receiver import Mirror
from regulator.records import RECORD_TYPES


def fresh_export() -> dict[str, dict[int, dict]]:
    """Every record SEC should hold now, entity by entity, by id (entities with none left out,
    as the mirror leaves them out)."""
    held = {}
    for rt in RECORD_TYPES:
        records = {record["id"]: record for record in rt.records()}
        if records:
            held[rt.entity] = records
    return held


def fresh_interval_months() -> dict[str, str]:
    """The sha256 of each month of the interval store, exported now as the cut writes it."""
    months = {}
    for month in partition_months():
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=6, mtime=0) as gz:
            gz.write((cut.INTERVAL_COLUMNS + "\n").encode())
            with (
                connection.cursor() as cur,
                cur.cursor.copy(cut.INTERVAL_COPY.format(partition=partition_name(month))) as cp,
            ):
                for data in cp:
                    gz.write(bytes(data))
        months[f"{month:%Y-%m}"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    return months


def mirror_at(tmp_path: Path) -> Mirror:
    return Mirror(tmp_path / "sec" / "espejo.sqlite3")


class ReceiverHandler(WSGIRequestHandler):
    """Quiet; and when the application's `mode` is "cut", the connection is closed after the
    request line, while the sender is still sending its page: a connection cut mid-page."""

    def log_message(self, *args):
        pass

    def handle(self):
        if getattr(self.server.get_app(), "mode", None) == "cut":
            self.rfile.readline(65537)
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
            return
        super().handle()


@contextmanager
def serve(app):
    """Run a WSGI application on a free local port in a thread; yields its base URL."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=ReceiverHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
