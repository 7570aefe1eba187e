"""The readings CSV read by blocks (metering.services.csvblock) gives what the line-by-line
reader gives: the same batches, values, lines, runs and rejections, whatever the file holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from metering.services import csvblock, sources

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
A_MINUS = "0.0.2.4.19.1.12.0.0.0.0.0.0.0.0.3.72.0"
START = datetime(2026, 3, 1, tzinfo=ZoneInfo("America/Santiago"))


def stamp(k: int) -> str:
    return (START + timedelta(minutes=15 * k)).isoformat()


def profile(meters: int = 3, slots: int = 10, sep: str = ",") -> list[str]:
    rows = []
    for m in range(meters):
        for code in (A_PLUS, A_MINUS):
            rows += [
                sep.join((f"M-{m:03d}", code, stamp(k), f"{(m + 1) * 0.125 * k:.3f}"))
                for k in range(1, slots + 1)
            ]
    return rows


def read(path, blocks: bool, monkeypatch) -> tuple[list, set]:
    """The items of the file as plain values, and the months its timestamps reached."""
    with monkeypatch.context() as patch:
        if not blocks:
            patch.setattr(csvblock, "parse_block", lambda *args: None)
        timestamps = sources.Timestamps()
        found = []
        for item in sources.csv_items(path, timestamps):
            if isinstance(item, sources.Batch):
                found.append(
                    (
                        "batch",
                        [int(x) for x in item.lines],
                        [int(x) for x in item.stamps],
                        [float(x) for x in item.values],
                        None if item.qualities is None else [int(x) for x in item.qualities],
                        [(int(i), meter, code) for i, meter, code in item.runs],
                    )
                )
            else:
                found.append(item)
    return found, timestamps.months


def same_either_way(tmp_path, monkeypatch, content: bytes | str) -> list:
    path = tmp_path / "lecturas.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    by_blocks = read(path, True, monkeypatch)
    by_lines = read(path, False, monkeypatch)
    assert by_blocks == by_lines
    return by_blocks[0]


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    # Many batches in a small file: clean ones read by blocks between those that are not.
    monkeypatch.setattr(sources, "BATCH", 7)


def test_a_clean_file_is_read_by_blocks_with_the_same_batches(tmp_path, monkeypatch):
    text = "meter,reading_type,timestamp,value\n" + "\n".join(profile()) + "\n"
    items = same_either_way(tmp_path, monkeypatch, text)

    assert sum(len(item[1]) for item in items) == 60
    assert [len(item[1]) for item in items][:3] == [7, 7, 7]  # lines 2-8, 9-15, 16-22
    assert items[0][1] == list(range(2, 9))
    assert items[0][5] == [(0, "M-000", A_PLUS)]


def test_the_block_reader_is_the_one_that_reads_a_clean_file(tmp_path, monkeypatch):
    calls = []
    parse = csvblock.parse_block

    def counted(*args):
        found = parse(*args)
        calls.append(found is not None)
        return found

    monkeypatch.setattr(csvblock, "parse_block", counted)
    path = tmp_path / "lecturas.csv"
    path.write_text("meter,reading_type,timestamp,value\n" + "\n".join(profile()) + "\n")

    batches = list(sources.csv_items(path))

    assert calls and all(calls)
    assert all(isinstance(batch.values, np.ndarray) for batch in batches)


@pytest.mark.parametrize(
    "lines",
    [
        # Rejections of every kind, among clean lines.
        [
            "M-1,{a},{t1},1.5",
            "M-1,{a},{t2},1,5",
            "M-1,{a},no es fecha,2.0",
            "M-1,{a},{t3},abc",
            "M-1,{a},{t4},1e3",
            "M-1,{a},{t5}, 5",
            ",{a},{t6},1.0",
            "",
            "   ",
            'M-1,{a},{t7},"7.25"',
            "M-1,{a},2000-01-01T00:00:00+00:00,1.0",
            "M-1,{a},1999-12-31T23:00:00+00:00,1.0",
            "M-1,{a},{t8},+5",
            "M-1,{a},{t9},-0.000",
            "M-1,{a},{t10},007.50",
            "M-1,{a},{t11}," + "9" * 40,
            "M-1,{a},{t12},123456789012345678.5",
            "M-1,{a},{t12}",
        ],
        # Meters and reading types alternating line by line, names of other lengths.
        [f"{'M-1' if k % 2 else 'MEDIDOR-22'},{{a}},{{t{k}}},{k}.0" for k in range(1, 13)],
        # A non-ASCII meter.
        ["Ñuble-1,{a},{t1},1.0", "Ñuble-1,{a},{t2},2.0", "M-2,{a},{t1},3.0"],
    ],
    ids=["rejections", "alternating", "non-ascii"],
)
def test_lines_to_reject_or_read_carefully_give_the_same_items(tmp_path, monkeypatch, lines):
    fields = {"a": A_PLUS, **{f"t{k}": stamp(k) for k in range(1, 13)}}
    body = [line.format(**fields) for line in lines]
    text = "meter,reading_type,timestamp,value\n" + "\n".join(profile() + body + profile()) + "\n"

    items = same_either_way(tmp_path, monkeypatch, text)

    assert sum(len(item[1]) for item in items if isinstance(item, tuple)) >= 120


@pytest.mark.parametrize(
    "content",
    [
        "meter,reading_type,timestamp,value\r\n" + "\r\n".join(profile()) + "\r\n",
        "meter,reading_type,timestamp,value\r" + "\r".join(profile()) + "\r",
        "meter,reading_type,timestamp,value\n"
        + "\n".join(profile()[:20])
        + "\r"
        + "\n".join(profile()[20:]),
        "\ufeffmeter,reading_type,timestamp,value\n" + "\n".join(profile()) + "\n",
        "meter,reading_type,timestamp,value\n" + "\n".join(profile()),
        "#decimal=.\nmeter;reading_type;timestamp;value\n" + "\n".join(profile(sep=";")) + "\n",
        "meter;reading_type;timestamp;value\n" + "\n".join(profile(sep=";")) + "\n",
        "#decimal=,\nmeter;reading_type;timestamp;value\n"
        + "\n".join(
            line[: line.rindex(".")] + "," + line[line.rindex(".") + 1 :]
            for line in profile(sep=";")
        )
        + "\n",
        "value,timestamp,meter,reading_type\n"
        + "\n".join(",".join(reversed(line.split(","))) for line in profile())
        + "\n",
        "meter,reading_type,timestamp,value,quality\n"
        + "\n".join(
            f"{line},{('0', '1.0.0', '', '2.5.259', ' 1.0.1 ')[n % 5]}"
            for n, line in enumerate(profile())
        )
        + "\n",
    ],
    ids=[
        "crlf",
        "cr",
        "lone-cr",
        "bom",
        "no-final-newline",
        "semicolon-declared",
        "semicolon-whole-numbers",
        "decimal-comma",
        "columns-reordered",
        "quality",
    ],
)
def test_line_ends_separators_and_columns_give_the_same_items(tmp_path, monkeypatch, content):
    items = same_either_way(tmp_path, monkeypatch, content)

    assert items


def test_bytes_that_are_not_utf8_fail_the_same_way(tmp_path, monkeypatch):
    path = tmp_path / "lecturas.csv"
    text = "meter,reading_type,timestamp,value\n" + "\n".join(profile()) + "\n"
    path.write_bytes(text.encode() + b"M-\xff,x,y,1\n")

    for blocks in (True, False):
        with pytest.raises(UnicodeDecodeError):
            read(path, blocks, monkeypatch)
