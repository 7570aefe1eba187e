"""A batch on disk: its directory, its gzip JSON Lines pages, its interval-store files and
its manifest, each written once with its size and sha256 counted as it is written.

    <REGULATOR_BATCH_DIR>/00000042/manifest.json
    <REGULATOR_BATCH_DIR>/00000042/postes-0001.jsonl.gz
    <REGULATOR_BATCH_DIR>/00000042/lecturas_intervalo-2026-03.csv.gz

A batch is written into a work directory beside the others and renamed into place before the
transaction that creates its row commits (regulator/cut.py); a directory without a row is a
cut that did not commit, and the next cut of that number replaces it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

from regulator import contract

MANIFEST_FILE = "manifest.json"
FILE_NAME = re.compile(r"^[a-z_]+-(\d{4,}|\d{4}-\d{2})\.(jsonl|csv)\.gz$")


def root() -> Path:
    return Path(settings.REGULATOR_BATCH_DIR)


def batch_dir(number: int) -> Path:
    return root() / f"{number:08d}"


def work_dir(number: int) -> Path:
    """A fresh directory to write batch `number` into (a crashed cut's leftovers go)."""
    path = root() / f".corte-{number:08d}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def publish(work: Path, number: int) -> Path:
    """Move a written batch into place, replacing what an uncommitted cut left there."""
    final = batch_dir(number)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    _fsync_dir(root())
    return final


def page_path(number: int, name: str) -> Path | None:
    """The file `name` of batch `number`, or None unless it is one of its files."""
    if name != MANIFEST_FILE and not FILE_NAME.match(name):
        return None
    path = batch_dir(number) / name
    return path if path.is_file() else None


class HashingFile:
    """A file opened for writing that counts the bytes and the sha256 of what goes in."""

    def __init__(self, path: Path):
        self.path = path
        self._file = path.open("wb")
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class GzipOut:
    """One gzip file written through a HashingFile (mtime 0: the same content, the same
    bytes)."""

    def __init__(self, path: Path):
        self.raw = HashingFile(path)
        self.gz = gzip.GzipFile(
            filename="", mode="wb", fileobj=self.raw, compresslevel=contract.GZIP_LEVEL, mtime=0
        )
        self.records = 0

    def write(self, data: bytes) -> None:
        self.gz.write(data)

    def close(self) -> dict[str, Any]:
        self.gz.close()
        self.raw.close()
        return {
            "file": self.raw.path.name,
            "records": self.records,
            "bytes": self.raw.size,
            "sha256": self.raw.sha256.hexdigest(),
        }


class EntityPages:
    """The pages of one entity in one batch: envelopes in, a page every `page_records` lines."""

    def __init__(self, directory: Path, entity: str, page_records: int):
        self.directory, self.entity, self.page_records = directory, entity, page_records
        self.pages: list[dict[str, Any]] = []
        self.counts = {"inserted": 0, "updated": 0, "deleted": 0}
        self.truncated = False
        self._out: GzipOut | None = None

    def add(self, line: dict[str, Any]) -> None:
        if self._out is None or self._out.records >= self.page_records:
            self._close_page()
            name = f"{self.entity}-{len(self.pages) + 1:04d}.jsonl.gz"
            self._out = GzipOut(self.directory / name)
        self._out.write(contract.dumps_line(line))
        self._out.records += 1
        op = line["op"]
        if op == "truncate":
            self.truncated = True
        else:
            self.counts[{"insert": "inserted", "update": "updated", "delete": "deleted"}[op]] += 1

    def _close_page(self) -> None:
        if self._out is not None:
            self.pages.append(self._out.close())
            self._out = None

    def close(self) -> dict[str, Any]:
        self._close_page()
        return {
            "pages": self.pages,
            "records": sum(page["records"] for page in self.pages),
            "truncated": self.truncated,
            **self.counts,
        }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as written (and hashed): UTF-8 JSON, indented, keys in contract order."""
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()


def write_manifest(directory: Path, manifest: dict[str, Any]) -> tuple[str, int]:
    out = HashingFile(directory / MANIFEST_FILE)
    out.write(manifest_bytes(manifest))
    out.close()
    _fsync_dir(directory)
    return out.sha256.hexdigest(), out.size


def sha256_file(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
