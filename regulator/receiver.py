"""The reference receiver (§6, point 6): what SEC runs, in miniature, to keep its copy.

It applies batches to a mirror database (SQLite: SEC's side is another system, not this
portal's PostgreSQL) and refuses what would make the copy wrong:

- a batch whose number is not the next one (a gap) or that it already applied (a duplicate);
- a batch whose manifest does not chain to the last applied one (`previous_manifest_sha256`),
  whose manifest is not the one announced, or whose files differ from the manifest's sizes and
  sha256 (tampered), or whose lines do not validate against the contract's schemas.

A batch is applied in one SQLite transaction that also records it as the last applied, so a
crash leaves either the whole batch or none of it. A line is applied only when its version is
newer than the one the mirror holds for its key. The interval store's monthly files are kept
beside the database, one per month (`<month>-<batch>.csv.gz`, the row naming it is written in
the batch's transaction), with their sha256.

It reads batches from a directory (the cut's output), from the pull API (`fetch`), or is
pushed to: `wsgi_app` answers the portal's push protocol (regulator/delivery.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import sqlite3
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import ValidationError

from regulator import contract

MANIFEST_FILE = "manifest.json"


class Refused(Exception):
    """A batch the receiver will not apply; `reason` is one of REASONS."""

    REASONS = ("duplicado", "hueco", "alterado", "invalido")

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Applied:
    batch: int
    manifest_sha256: str
    lines: int
    skipped: int  # lines whose version was not newer than the mirror's


SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    entity TEXT NOT NULL, id INTEGER NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS applied (
    batch INTEGER PRIMARY KEY, manifest_sha256 TEXT NOT NULL, applied_at TEXT NOT NULL
        DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE IF NOT EXISTS interval_months (
    month TEXT PRIMARY KEY, batch INTEGER NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
    records INTEGER NOT NULL);
"""


class Mirror:
    """SEC's copy: one SQLite file, with the interval months in a directory beside it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.months_dir = self.path.with_suffix(".intervalos")
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- What it holds ---

    def last_applied(self) -> tuple[int, str] | None:
        row = self.db.execute(
            "SELECT batch, manifest_sha256 FROM applied ORDER BY batch DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def applied_sha256(self, batch: int) -> str | None:
        row = self.db.execute(
            "SELECT manifest_sha256 FROM applied WHERE batch = ?", [batch]
        ).fetchone()
        return None if row is None else row[0]

    def records(self) -> dict[str, dict[int, dict]]:
        """Everything it holds, entity by entity, record by id (for the tests' comparisons)."""
        held: dict[str, dict[int, dict]] = {}
        for entity, rid, record in self.db.execute("SELECT entity, id, record FROM records"):
            held.setdefault(entity, {})[rid] = json.loads(record)
        return held

    def interval_months(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT month, sha256 FROM interval_months"))

    # --- Applying ---

    def check(self, manifest_raw: bytes) -> dict[str, Any]:
        """The manifest, if it is the next batch and chains to the last applied one."""
        try:
            manifest = json.loads(manifest_raw)
            contract.validate_manifest(manifest)
        except (ValueError, ValidationError) as error:
            raise Refused("invalido", f"manifiesto: {_short(error)}") from None
        number = manifest["batch"]
        last = self.last_applied()
        expected = 0 if last is None else last[0] + 1
        if number < expected:
            raise Refused("duplicado", f"el lote {number} ya se aplicó")
        if number > expected:
            raise Refused("hueco", f"se esperaba el lote {expected}, llegó el {number}")
        previous = None if last is None else last[1]
        if manifest["previous_manifest_sha256"] != previous:
            raise Refused(
                "alterado", f"el lote {number} no se encadena al manifiesto del lote {expected - 1}"
            )
        return manifest

    def apply(
        self,
        manifest_raw: bytes,
        read: Callable[[str], bytes],
        expected_sha256: str | None = None,
    ) -> Applied:
        """Apply one batch: its manifest's bytes and `read(file)` for each of its files.
        `expected_sha256` is the manifest's sha256 as announced apart from it (the pull API's
        list, the push's header): a manifest rewritten on the way is refused at once, not
        only when the next batch fails to chain to it."""
        sha256 = hashlib.sha256(manifest_raw).hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise Refused("alterado", "el manifiesto no es el anunciado (sha256 distinto)")
        manifest = self.check(manifest_raw)
        number = manifest["batch"]
        lines = skipped = 0
        staged: list[tuple[dict, Path]] = []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for entity, summary in manifest["entities"].items():
                for page in summary["pages"]:
                    data = _verified(read, page)
                    for line in _lines(data, entity, page["file"]):
                        lines += 1
                        skipped += not self._apply_line(line)
            for partition in manifest["interval_partitions"]:
                data = _verified(read, partition)
                staged.append((partition, self._stage_month(number, partition, data)))
                self.db.execute(
                    "INSERT INTO interval_months (month, batch, file, sha256, records) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (month) DO UPDATE SET batch = "
                    "excluded.batch, file = excluded.file, sha256 = excluded.sha256, "
                    "records = excluded.records",
                    [
                        partition["month"],
                        number,
                        staged[-1][1].name,
                        partition["sha256"],
                        partition["records"],
                    ],
                )
            self.db.execute(
                "INSERT INTO applied (batch, manifest_sha256) VALUES (?, ?)", [number, sha256]
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            for _partition, path in staged:
                path.unlink(missing_ok=True)
            raise
        for partition, path in staged:  # the months' older files
            for old in self.months_dir.glob(f"{partition['month']}-*.csv.gz"):
                if old != path:
                    old.unlink(missing_ok=True)
        return Applied(number, sha256, lines, skipped)

    def _apply_line(self, line: dict[str, Any]) -> bool:
        entity, version, op = line["entity"], line["version"], line["op"]
        if op == "truncate":
            self.db.execute(
                "DELETE FROM records WHERE entity = ? AND version < ?", [entity, version]
            )
            return True
        rid = line["key"]["id"]
        row = self.db.execute(
            "SELECT version FROM records WHERE entity = ? AND id = ?", [entity, rid]
        ).fetchone()
        if row is not None and row[0] >= version:
            return False
        if op == "delete":
            self.db.execute("DELETE FROM records WHERE entity = ? AND id = ?", [entity, rid])
        else:
            self.db.execute(
                "INSERT INTO records (entity, id, version, record) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version, "
                "record = excluded.record",
                [entity, rid, version, json.dumps(line["record"], ensure_ascii=False)],
            )
        return True

    def _stage_month(self, number: int, partition: dict, data: bytes) -> Path:
        self.months_dir.mkdir(parents=True, exist_ok=True)
        path = self.months_dir / f"{partition['month']}-{number:08d}.csv.gz"
        path.write_bytes(data)
        return path

    # --- Sources ---

    def apply_directory(self, directory: Path) -> Applied:
        directory = Path(directory)
        raw = (directory / MANIFEST_FILE).read_bytes()
        return self.apply(raw, lambda name: _read_inside(directory, name))

    def apply_all(self, root: Path) -> list[Applied]:
        """Apply, in order, every batch directory under `root` after the last applied one."""
        applied = []
        last = self.last_applied()
        number = 0 if last is None else last[0] + 1
        while (directory := Path(root) / f"{number:08d}").is_dir():
            applied.append(self.apply_directory(directory))
            number += 1
        return applied


class PullClient:
    """SEC's side of the pull API (regulator/api.py) over HTTP: list the pending batches,
    download and apply each in order, then acknowledge it. A batch already applied (a crash
    between applying and acknowledging) is only acknowledged again."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0):
        self.base = base_url.rstrip("/")
        self.token, self.timeout = token, timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def get(self, path: str) -> bytes:
        status, data = self._call("GET", path)
        if status != 200:
            raise Refused("invalido", f"GET {path}: HTTP {status}")
        return data

    def sync(self, mirror: Mirror) -> list[int]:
        """Apply and acknowledge every pending batch; the numbers applied."""
        listing = json.loads(self.get("/lotes/?pendientes=1"))["results"]
        done = []
        for batch in listing:
            number, sha256 = batch["number"], batch["manifest_sha256"]
            if mirror.applied_sha256(number) != sha256:
                raw = self.get(f"/lotes/{number}/manifiesto")
                mirror.apply(
                    raw, lambda name, n=number: self.get(f"/lotes/{n}/archivos/{name}"), sha256
                )
                done.append(number)
            status, answer = self._call(
                "POST", f"/lotes/{number}/acuse", {"manifest_sha256": sha256}
            )
            already = status == 409 and b'"ya_acusado"' in answer
            if status != 200 and not already:
                raise Refused("invalido", f"acuse del lote {number}: HTTP {status} {answer!r}")
        return done


def _verified(read: Callable[[str], bytes], entry: dict[str, Any]) -> bytes:
    data = read(entry["file"])
    if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise Refused("alterado", f"{entry['file']}: tamaño o sha256 distintos del manifiesto")
    return data


def _lines(data: bytes, entity: str, name: str) -> Iterator[dict[str, Any]]:
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise Refused("invalido", f"{name}: no es gzip ({error})") from None
    for number, raw in enumerate(text.splitlines(), start=1):
        try:
            line = json.loads(raw)
            contract.validate(line)
        except (ValueError, ValidationError) as error:
            raise Refused("invalido", f"{name}, línea {number}: {_short(error)}") from None
        if line["entity"] != entity:
            raise Refused("invalido", f"{name}, línea {number}: entidad {line['entity']}")
        yield line


def _read_inside(directory: Path, name: str) -> bytes:
    path = (directory / name).resolve()
    if path.parent != directory.resolve():
        raise Refused("invalido", f"nombre de archivo fuera del lote: {name}")
    if not path.is_file():
        raise Refused("invalido", f"falta el archivo {name}")
    return path.read_bytes()


def _short(error: Exception) -> str:
    return str(getattr(error, "message", error)).splitlines()[0][:300]


def remove(mirror_path: Path) -> None:
    """Delete a mirror and its interval months (tests)."""
    mirror_path = Path(mirror_path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{mirror_path}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(mirror_path.with_suffix(".intervalos"), ignore_errors=True)


# --- Push endpoint -----------------------------------------------------------------------------


class PushEndpoint:
    """A WSGI application answering the portal's push protocol (regulator/delivery.py) into a
    mirror: files are staged by batch, the manifest applies the batch. An already applied
    batch is acknowledged again (with the sha256 it was applied with) and not applied twice."""

    def __init__(self, mirror_path: Path, token: str):
        self.mirror_path = Path(mirror_path)
        self.token = token
        self.staging = self.mirror_path.with_suffix(".entrantes")

    def __call__(self, environ, start_response):
        try:
            status, body = self.handle(environ)
        except Exception as error:  # a receiver bug answers 500, as a real one would
            status, body = 500, {"error": "interno", "detail": str(error)}
        raw = json.dumps(body, ensure_ascii=False).encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))],
        )
        return [raw]

    def handle(self, environ) -> tuple[int, dict]:
        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.token}":
            return 401, {"error": "no_autorizado"}
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if len(parts) != 3 or parts[0] != "lotes" or not parts[1].isdigit():
            return 404, {"error": "ruta"}
        number, name = int(parts[1]), parts[2]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) != length:
            return 400, {"error": "cuerpo_incompleto"}
        declared = environ.get("HTTP_X_CONTENT_SHA256")
        if declared and hashlib.sha256(body).hexdigest() != declared:
            return 400, {"error": "sha256_del_cuerpo"}
        staged = self.staging / f"{number:08d}"
        if environ["REQUEST_METHOD"] == "PUT" and name != "manifiesto":
            if "/" in name or name.startswith("."):
                return 400, {"error": "nombre"}
            staged.mkdir(parents=True, exist_ok=True)
            (staged / name).write_bytes(body)
            return 200, {"file": name, "bytes": len(body)}
        if environ["REQUEST_METHOD"] != "POST" or name != "manifiesto":
            return 405, {"error": "metodo"}
        mirror = Mirror(self.mirror_path)
        try:
            sha256 = hashlib.sha256(body).hexdigest()
            if mirror.applied_sha256(number) == sha256:
                return 200, {"batch": number, "manifest_sha256": sha256, "status": "ya_aplicado"}
            try:
                mirror.apply(body, lambda file: _read_inside(staged, file), declared)
            except Refused as refused:
                return 409, {"error": refused.reason, "detail": refused.detail}
            shutil.rmtree(staged, ignore_errors=True)
            return 200, {"batch": number, "manifest_sha256": sha256, "status": "aplicado"}
        finally:
            mirror.close()


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error"}  # fmt: skip
