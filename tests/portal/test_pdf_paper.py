"""The PDFs on paper: measured from the PDF itself (rasterised by poppler's pdftoppm), not
from the HTML, so that what WeasyPrint laid out is what is checked."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest
from django.urls import reverse

from network.models import Feeder, Transformer

pytestmark = pytest.mark.django_db

DPI = 30
MM = DPI / 25.4  # pixels per millimetre
# print.css: @page { size: A4; margin: 14mm 12mm }
TOP_MM, SIDE_MM = 14, 12
INK = 245  # a grey level below this is ink, not paper


@dataclass
class Page:
    width: int
    height: int
    ink_top: int  # first and last rows with ink; -1 on a blank page
    ink_bottom: int
    ink_right: int  # last column with ink

    @property
    def fullness(self) -> float:
        """The share of the page's content box down to its lowest ink."""
        top, box = TOP_MM * MM, self.height - 2 * TOP_MM * MM
        return max(0.0, (self.ink_bottom + 1 - top) / box) if self.ink_bottom >= 0 else 0.0


def _pages(pdf: bytes) -> list[Page]:
    """Every page of `pdf` as grey pixels (netpbm PGM from pdftoppm, read with numpy)."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is needed to measure the PDFs")
    out = subprocess.run(
        ["pdftoppm", "-gray", "-r", str(DPI)], input=pdf, capture_output=True, check=True
    ).stdout
    pages = []
    while out:
        # P5\n<width> <height>\n<maxval>\n<width*height bytes>, one after the other.
        magic, width, height, maxval, rest = out.split(maxsplit=4)
        assert magic == b"P5" and maxval == b"255"
        width, height = int(width), int(height)
        pixels = np.frombuffer(rest[: width * height], dtype=np.uint8).reshape(height, width)
        out = rest[width * height :]
        rows = np.flatnonzero((pixels < INK).any(axis=1))
        cols = np.flatnonzero((pixels < INK).any(axis=0))
        pages.append(
            Page(
                width,
                height,
                int(rows[0]) if rows.size else -1,
                int(rows[-1]) if rows.size else -1,
                int(cols[-1]) if cols.size else -1,
            )
        )
    return pages


def pdf_pages(client, url: str, **params) -> list[Page]:
    response = client.get(url, {**params, "formato": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    return _pages(response.content)


def assert_no_waste(pages: list[Page]) -> None:
    for number, page in enumerate(pages[:-1], start=1):
        assert page.fullness >= 1 / 3, f"page {number} of {len(pages)} is {page.fullness:.0%} full"
    for number, page in enumerate(pages, start=1):
        # One pixel of slack for anti-aliasing at the margin's edge.
        margin = page.width - SIDE_MM * MM
        assert page.ink_right <= margin + 1, f"page {number}: ink past the right margin"


@pytest.fixture
def feeder(demo_network) -> Feeder:
    """The demo feeder the other PDF tests print (tests/portal/test_public_pages.py)."""
    return Feeder.objects.filter(kind="alimentador", equipment__kind="regulador").first()


@pytest.fixture
def monitored(demo_network) -> Transformer:
    return Transformer.objects.filter(smmc=True).select_related("pole", "feeder").first()


def test_measuring_sees_a_page_that_is_mostly_empty_and_ink_past_the_margin():
    """The measure itself: a short page before a forced break is caught, and so is a table
    wider than the page."""
    from weasyprint import CSS, HTML

    css = CSS(string="@page { size: A4; margin: 14mm 12mm } table { width: 195mm }")
    html = (
        "<p>una línea</p><p style='break-before: page'>otra</p>"
        "<table><tr><td>a</td><td style='text-align: right'>b</td></tr></table>"
    )
    pages = _pages(HTML(string=html).write_pdf(stylesheets=[css]))
    assert len(pages) == 2
    assert pages[0].fullness < 1 / 3
    with pytest.raises(AssertionError, match="page 1 of 2"):
        assert_no_waste(pages)
    with pytest.raises(AssertionError, match="right margin"):
        assert_no_waste(pages[1:])


def test_feeder_pdf_wastes_no_paper(public_client, feeder):
    pages = pdf_pages(public_client, reverse("network:feeder", args=[feeder.pk]))
    assert_no_waste(pages)
    assert len(pages) == FEEDER_PAGES


def test_transformer_pdf_wastes_no_paper(public_client, monitored):
    pages = pdf_pages(public_client, reverse("network:transformer", args=[monitored.pk]))
    assert_no_waste(pages)
    assert len(pages) == TRANSFORMER_PAGES


def test_substation_pdf_wastes_no_paper(public_client, feeder):
    pages = pdf_pages(public_client, reverse("network:substation", args=[feeder.substation_id]))
    assert_no_waste(pages)
    assert len(pages) == SUBSTATION_PAGES


@pytest.mark.parametrize("kind", ["poste", "vano", "equipo"])
def test_feeder_asset_tables_stay_on_the_page(public_client, feeder, kind):
    pages = pdf_pages(public_client, reverse("network:feeder", args=[feeder.pk]), tipo=kind, id="")
    assert_no_waste(pages)


# The demo PDFs' page counts: a change that adds a page has to say why here.
FEEDER_PAGES = 4
TRANSFORMER_PAGES = 2
SUBSTATION_PAGES = 2
