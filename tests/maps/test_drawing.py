from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test import override_settings
from django.urls import reverse
from pyproj import Geod

from maps.drawing import (
    MapFeature,
    MapLayer,
    feeder_layers,
    render_interactive,
    render_static_svg,
    substation_layers,
    transformer_layers,
)
from maps.drawing.style import PATH_CHUNK
from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"
LEAFLET_FILES = [
    "vendor/leaflet/leaflet.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/images/layers.png",
    "vendor/leaflet/images/layers-2x.png",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "vendor/leaflet/LICENSE",
    "vendor/leaflet/SOURCE.txt",
    "js/map.js",
]


def by_name(layers: list[MapLayer]) -> dict[str, MapLayer]:
    return {layer.name: layer for layer in layers}


def busiest_feeder() -> Feeder:
    """The demo feeder with the most kinds of equipment, then the most spans."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT f.id FROM network_feeder f"
            " ORDER BY (SELECT count(DISTINCT kind) FROM network_equipment e"
            "           WHERE e.feeder_id = f.id) DESC,"
            " (SELECT count(*) FROM network_span s WHERE s.feeder_id = f.id) DESC LIMIT 1"
        )
        return Feeder.objects.get(pk=cur.fetchone()[0])


def crowded_transformer() -> Transformer:
    """A demo transformer with other transformers and equipment within 400 m."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT t.id FROM network_transformer t ORDER BY"
            " (SELECT count(*) FROM network_transformer o WHERE o.id <> t.id"
            "  AND ST_DWithin(o.location::geography, t.location::geography, 400))"
            " + (SELECT count(*) FROM network_equipment e"
            "  WHERE ST_DWithin(e.location::geography, t.location::geography, 400)) DESC,"
            " t.id LIMIT 1"
        )
        return Transformer.objects.select_related("pole").get(pk=cur.fetchone()[0])


def ids_within(table: str, column: str, centre: Point, metres: float) -> int:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM {table}"
            f" WHERE ST_DWithin({column}::geography, ST_GeogFromText(%s), %s)",
            [centre.ewkt, metres],
        )
        return cur.fetchone()[0]


def data_block(fragment: str) -> dict:
    match = re.search(r'<script type="application/json" id="([^"]+)">(.*?)</script>', fragment)
    assert match, "the fragment has no JSON data block"
    return json.loads(match.group(2))


def external_urls(fragment: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>)]+", fragment))


# --- layers ---------------------------------------------------------------------------------


def test_feeder_layers_hold_all_its_spans_poles_transformers_and_equipment(demo_network):
    feeder = busiest_feeder()
    layers = by_name(feeder_layers(feeder))

    assert len(layers["Vanos"].features) == Span.objects.filter(feeder=feeder).count()
    assert len(layers["Postes"].features) == Pole.objects.filter(feeder=feeder).count()
    assert (
        len(layers["Transformadores"].features) == Transformer.objects.filter(feeder=feeder).count()
    )
    equipment = [
        f for name, layer in layers.items() if name in Equipment.Category.labels
        for f in layer.features
    ]  # fmt: skip
    assert len(equipment) == Equipment.objects.filter(feeder=feeder).count()
    assert len(layers["Subestación"].features) == 1


def test_feeder_equipment_is_one_layer_per_category(demo_network):
    feeder = busiest_feeder()
    layers = by_name(feeder_layers(feeder))
    for category in Equipment.Category:
        kinds = [k for k, c in Equipment.CATEGORY_OF.items() if c == category]
        expected = Equipment.objects.filter(feeder=feeder, kind__in=kinds).count()
        if expected:
            assert len(layers[category.label].features) == expected
        else:
            assert category.label not in layers


def test_feeder_layers_link_transformers_and_the_substation_to_their_detail_pages(demo_network):
    feeder = busiest_feeder()
    layers = by_name(feeder_layers(feeder))
    urls = {f.url for f in layers["Transformadores"].features}
    assert urls == {
        reverse("network:transformer", args=[pk])
        for pk in Transformer.objects.filter(feeder=feeder).values_list("pk", flat=True)
    }
    assert layers["Subestación"].features[0].url == reverse(
        "network:substation", args=[feeder.substation_id]
    )


def test_feeder_layers_take_a_fixed_number_of_queries(demo_network, django_assert_num_queries):
    feeder = Feeder.objects.filter(kind="alimentador").order_by("pk").last()
    with django_assert_num_queries(6):
        feeder_layers(feeder)
    subfeeder = Feeder.objects.filter(kind="subalimentador").order_by("pk").last()
    with django_assert_num_queries(7):
        feeder_layers(subfeeder)


def test_substation_and_transformer_layers_take_a_fixed_number_of_queries(
    demo_network, django_assert_num_queries
):
    substation = Substation.objects.order_by("pk").last()
    with django_assert_num_queries(1):
        substation_layers(substation)
    transformer = crowded_transformer()  # its pole already loaded, as the detail view does
    # GeoDjango reads spatial_ref_sys once per process (the circle's SRID): whether that
    # query lands here depended on which test ran first, so it is read before counting.
    transformer_layers(transformer)
    with django_assert_num_queries(7):
        transformer_layers(transformer)


def test_subfeeder_map_shows_its_purchase_node_and_is_framed_on_itself(demo_network):
    subfeeder = Feeder.objects.filter(kind="subalimentador").select_related("purchase_node")[0]
    layers = by_name(feeder_layers(subfeeder))

    node = layers["Punto de compra"].features[0]
    assert node.geometry == subfeeder.purchase_node.location
    assert subfeeder.purchase_node.plate in node.label
    assert not layers["Subestación"].fit


def test_substation_layers_are_one_generalised_line_per_feeder(demo_network):
    substation = Substation.objects.annotate(n=Count("feeders")).order_by("-n", "pk").first()
    feeders = list(Feeder.objects.filter(substation=substation).order_by("code"))
    layers = substation_layers(substation)

    lines = [layer for layer in layers if layer.kind == "line"]
    assert [layer.name for layer in lines] == [f"Alimentador {f.code} {f.name}" for f in feeders]
    for layer, feeder in zip(lines, feeders, strict=True):
        assert len(layer.features) == 1
        vertices = layer.features[0].geometry.num_coords
        spans = Span.objects.filter(feeder=feeder).count()
        assert vertices < spans, "the line is simplified, not every span's two ends"
    points = [layer for layer in layers if layer.kind == "point"]
    assert [len(layer.features) for layer in points] == [1]  # the substation only


def test_transformer_surroundings_only_include_things_within_the_radius(demo_network):
    transformer = crowded_transformer()
    centre = transformer.location
    layers = by_name(transformer_layers(transformer))

    assert len(layers["Vanos"].features) == ids_within("network_span", "geom", centre, 400)
    assert len(layers["Postes"].features) == ids_within("network_pole", "location", centre, 400)
    equipment = sum(
        len(layer.features) for name, layer in layers.items() if name in Equipment.Category.labels
    )
    assert equipment == ids_within("network_equipment", "location", centre, 400) > 0
    others = ids_within("network_transformer", "location", centre, 400) - 1
    assert len(layers["Transformadores"].features) == others > 0
    for name in ("Vanos", "Postes", "Transformadores"):
        for feature in layers[name].features:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT ST_Distance(ST_GeogFromText(%s), ST_GeogFromText(%s))",
                    [feature.geometry.ewkt, centre.ewkt],
                )
                assert cur.fetchone()[0] <= 400
    # The feeder's poles do go further than the radius: the filter did something.
    assert Pole.objects.filter(feeder=transformer.feeder).count() > len(layers["Postes"].features)


def test_transformer_map_frames_the_surroundings_not_the_whole_feeder(demo_network):
    transformer = crowded_transformer()
    layers = transformer_layers(transformer)
    focus = by_name(layers)[f"Transformador {transformer.code}"]
    assert focus.features[0].geometry == transformer.location
    context = [layer.name for layer in layers if not layer.fit]
    assert context == [f"Alimentador {transformer.feeder.code} (trazado general)", "Subestación"]


# --- interactive map ------------------------------------------------------------------------


@override_settings(MAP_BASE_LAYER_URL="", MAP_BASE_LAYER_ATTRIBUTION="")
def test_interactive_fragment_loads_leaflet_from_our_static_files_only(demo_network):
    fragment = render_interactive(feeder_layers(busiest_feeder()))

    assert f'src="{settings.STATIC_URL}vendor/leaflet/leaflet.js"' in fragment
    assert f'href="{settings.STATIC_URL}vendor/leaflet/leaflet.css"' in fragment
    assert f'src="{settings.STATIC_URL}js/map.js"' in fragment
    assert external_urls(fragment) == set()
    assert data_block(fragment)["base"] is None
    assert 'class="map"' in fragment


@override_settings(
    MAP_BASE_LAYER_URL="https://tiles.example.cl/{z}/{x}/{y}.png",
    MAP_BASE_LAYER_ATTRIBUTION="© Teselas de ejemplo",
)
def test_interactive_fragment_includes_the_configured_base_layer(demo_network):
    fragment = render_interactive(feeder_layers(busiest_feeder()))

    assert data_block(fragment)["base"] == {
        "url": "https://tiles.example.cl/{z}/{x}/{y}.png",
        "attribution": "© Teselas de ejemplo",
    }
    assert external_urls(fragment) == {"https://tiles.example.cl/{z}/{x}/{y}.png"}


@override_settings(STATIC_URL="/estaticos/")
def test_interactive_fragment_respects_static_url():
    layer = MapLayer("Postes", "point", "#444", [MapFeature(Point(-70.6, -33.4, srid=4326))])
    assert 'src="/estaticos/vendor/leaflet/leaflet.js"' in render_interactive([layer])


def test_two_fragments_on_one_page_do_not_share_ids():
    layer = MapLayer("Postes", "point", "#444", [MapFeature(Point(-70.6, -33.4, srid=4326))])
    page = render_interactive([layer]) + render_interactive([layer])
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == 6 and len(set(ids)) == 6
    data_refs = re.findall(r'data-map="([^"]+)"', page)
    assert len(set(data_refs)) == 2 and set(data_refs) <= set(ids)


def test_interactive_data_is_one_geojson_per_layer_with_six_decimals(demo_network):
    feeder = busiest_feeder()
    layers = feeder_layers(feeder)
    data = data_block(render_interactive(layers))

    assert {layer["name"] for layer in data["layers"]} == {layer.name for layer in layers}
    for layer in data["layers"]:
        assert layer["data"]["type"] == "FeatureCollection"
    spans = next(layer for layer in data["layers"] if layer["name"] == "Vanos")
    assert len(spans["data"]["features"]) == Span.objects.filter(feeder=feeder).count()
    numbers = re.findall(r"-?\d+\.\d+", json.dumps(spans["data"]["features"][0]["geometry"]))
    assert numbers and all(len(n.split(".")[1]) <= 6 for n in numbers)
    poles = next(layer for layer in data["layers"] if layer["name"] == "Postes")
    assert poles["minZoom"] == 15  # a feeder's poles would hide its spans at overview zooms
    transformer = next(layer for layer in data["layers"] if layer["name"] == "Transformadores")
    properties = transformer["data"]["features"][0]["properties"]
    assert properties["label"].startswith("Transformador ")
    assert properties["url"].startswith("/")


def test_interactive_fragment_escapes_labels():
    layer = MapLayer(
        "</script><b>",
        "point",
        "#444",
        [MapFeature(Point(-70.6, -33.4, srid=4326), label="</script><script>alert(1)")],
    )
    fragment = render_interactive([layer])
    assert "</script><script>alert" not in fragment
    assert "<b>" not in fragment
    assert data_block(fragment)["layers"][0]["data"]["features"][0]["properties"]["label"] == (
        "</script><script>alert(1)"
    )


# --- static map -----------------------------------------------------------------------------


def two_points_apart(metres: float) -> tuple[Point, Point]:
    lon, lat = -72.59, -38.74  # Temuco
    lon2, lat2, _ = Geod(ellps="WGS84").fwd(lon, lat, 60, metres)
    return Point(lon, lat, srid=4326), Point(lon2, lat2, srid=4326)


def scale_bar(root: ET.Element) -> tuple[float, float, str]:
    """(metres of the label, bar length in px, label text)."""
    bar = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "scale-bar")
    texts = [t.text for t in bar.iter(f"{SVG}text")]
    label = texts[-1]
    match = re.fullmatch(r"(\d+(?:,\d+)?) (m|km)", label)
    assert match, label
    metres = float(match.group(1).replace(",", ".")) * (1000 if match.group(2) == "km" else 1)
    rect = next(r for r in bar.iter(f"{SVG}rect") if r.get("class") == "scale-bar-length")
    return metres, float(rect.get("width")), label


def map_svg(figure: ET.Element) -> ET.Element:
    """The map's SVG in the static map's figure (the legend's symbols are SVGs too)."""
    (svg,) = [e for e in figure.iter(f"{SVG}svg") if e.get("class") == "static-map-svg"]
    return svg


def legend(figure: ET.Element) -> ET.Element:
    (div,) = [e for e in figure.iter("div") if e.get("class") == "static-map-legend"]
    return div


def test_static_svg_is_xml_with_a_legend_of_every_layer_and_a_scale_bar(demo_network):
    layers = feeder_layers(busiest_feeder())
    root = ET.fromstring(str(render_static_svg(layers, title="Alimentador de prueba")))

    assert root.tag == "figure" and root.get("class") == "static-map"
    svg = map_svg(root)
    entries = [" ".join(" ".join(li.itertext()).split()) for li in legend(root).iter("li")]
    assert len(entries) == len(layers)
    for layer, entry in zip(layers, entries, strict=True):
        assert entry.startswith(" ".join(layer.name.split()))
    _, _, label = scale_bar(svg)
    assert re.fullmatch(r"\d+ (m|km)", label)
    assert any(g.get("class") == "north-arrow" for g in svg.iter(f"{SVG}g"))
    (caption,) = root.iter("figcaption")
    assert caption.text == "Alimentador de prueba"


def test_static_svg_legend_and_title_are_html_not_svg_text(demo_network):
    """WeasyPrint lays out SVG text letter by letter: the title and the legend are HTML, the
    legend's symbols small SVGs without text; the map's own text is the scale bar's and the
    north arrow's few labels."""
    layers = feeder_layers(busiest_feeder())
    root = ET.fromstring(str(render_static_svg(layers, title="Alimentador de prueba")))

    svg_text = [t.text for t in root.iter(f"{SVG}text")]
    assert set(svg_text) <= {"N", "0", scale_bar(map_svg(root))[2]}, svg_text
    assert not any(
        layer.name in "".join(svg.itertext()) for svg in root.iter(f"{SVG}svg") for layer in layers
    )
    heading, entries = legend(root)
    assert heading.tag == "p" and heading.text == "Leyenda"
    (symbols,), names = entries
    assert [li.tag for li in names] == ["li"] * len(layers)
    assert all(li.text for li in names)
    # One SVG holds every symbol, one element each, and no text.
    assert symbols.tag == f"{SVG}svg" and len(symbols) == len(layers)
    assert not list(symbols.iter(f"{SVG}text"))
    # portal.css sizes the map's SVG by its class (.static-map-svg): not the symbols.
    assert [e.get("class") for e in root.iter(f"{SVG}svg")] == ["static-map-svg", None]


@pytest.mark.parametrize("distance", [150, 1_000, 7_000, 40_000])
def test_static_svg_scale_bar_length_matches_true_metres(distance):
    a, b = two_points_apart(distance)
    layer = MapLayer("Puntos", "point", "#000", [MapFeature(a), MapFeature(b)], size=4)
    root = map_svg(ET.fromstring(str(render_static_svg([layer]))))

    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-layer") == "Puntos")
    # The layer is one path of round-capped dots, "M<x> <y>h0" each.
    (path,) = group.iter(f"{SVG}path")
    (x1, y1), (x2, y2) = [
        (float(x), float(y)) for x, y in re.findall(r"M([-\d.]+) ([-\d.]+)h0", path.get("d"))
    ]
    metres_per_px = distance / math.hypot(x2 - x1, y2 - y1)
    metres, px, _ = scale_bar(root)
    # Symbol centres are written to 0.1 px: allow for that on short distances.
    assert px * metres_per_px == pytest.approx(metres, rel=0.01)


def test_static_svg_says_which_layers_are_outside_the_frame():
    near, end = two_points_apart(100)
    far = Point(near.x + 1, near.y, srid=4326)  # ~87 km east
    layers = [
        MapLayer("Aquí", "point", "#000", [MapFeature(near)]),
        MapLayer("Vano", "line", "#00f", [MapFeature(LineString(near, end, srid=4326))]),
        MapLayer("Allá", "point", "#000", [MapFeature(far)], fit=False),
    ]
    figure = ET.fromstring(str(render_static_svg(layers)))
    entries = [" ".join(li.itertext()) for li in legend(figure).iter("li")]
    assert entries == ["Aquí", "Vano", "Allá (fuera del encuadre)"]
    text = " ".join(entries)
    assert "Aquí (fuera" not in text
    assert "Vano (fuera" not in text


def test_static_feeder_map_draws_each_layer_as_a_few_paths(demo_network):
    feeder = busiest_feeder()
    layers = feeder_layers(feeder)
    root = map_svg(ET.fromstring(str(render_static_svg(layers))))

    groups = {g.get("data-layer"): g for g in root.iter(f"{SVG}g") if g.get("data-layer")}
    assert set(groups) == {layer.name for layer in layers}
    for layer in layers:
        children = list(groups[layer.name])
        assert children, f"{layer.name} is drawn"
        assert all(c.tag == f"{SVG}path" for c in children), f"{layer.name}: paths only"
        data = "".join(c.get("d") for c in children)
        # Paths of about PATH_CHUNK characters, not one element per feature.
        assert len(children) <= len(data) // PATH_CHUNK + 1, layer.name
    poles = "".join(c.get("d") for c in groups["Postes"])
    # One dot per pole, less the few closer than the print resolution to another.
    assert 0.8 * Pole.objects.filter(feeder=feeder).count() <= poles.count("h0")
    assert poles.count("h0") <= Pole.objects.filter(feeder=feeder).count()
    spans = "".join(c.get("d") for c in groups["Vanos"])
    assert spans.count("M") < Span.objects.filter(feeder=feeder).count(), "spans are merged"


def test_static_feeder_map_is_framed_on_the_extent_of_everything_it_frames(demo_network):
    from maps.drawing.svg import _extent

    feeder = busiest_feeder()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(g) e"
            " FROM (SELECT geom g FROM network_span WHERE feeder_id = %(f)s"
            " UNION ALL SELECT location FROM network_pole WHERE feeder_id = %(f)s"
            " UNION ALL SELECT location FROM network_transformer WHERE feeder_id = %(f)s"
            " UNION ALL SELECT location FROM network_equipment WHERE feeder_id = %(f)s"
            " UNION ALL SELECT location FROM network_substation WHERE id = %(s)s) u) x",
            {"f": feeder.pk, "s": feeder.substation_id},
        )
        expected = cur.fetchone()
    fitted = _extent([layer for layer in feeder_layers(feeder) if layer.fit])
    assert fitted == pytest.approx(expected, abs=1e-9)


def test_static_svg_renders_in_weasyprint(demo_network, tmp_path):
    from weasyprint import HTML

    svg = render_static_svg(transformer_layers(crowded_transformer()), title="Transformador")
    pdf = HTML(string=f"<html><body><div class='map-static'>{svg}</div></body></html>").write_pdf()
    assert pdf.startswith(b"%PDF") and len(pdf) > 2_000


def _centre_y(element: ET.Element) -> float:
    """The vertical centre of a legend symbol's bounding box (circle, rect or path)."""
    if element.get("cy"):
        return float(element.get("cy"))
    if element.get("height"):
        return float(element.get("y")) + float(element.get("height")) / 2
    d = element.get("d")
    if "H" in d:  # a line: M x yH x
        return float(re.findall(r"[-\d.]+", d)[1])
    ys = [float(y) for _, y in re.findall(r"([-\d.]+) ([-\d.]+)", d)]
    return (min(ys) + max(ys)) / 2


@pytest.mark.parametrize("kind", ["transformer", "substation"])
def test_static_map_lays_out_its_legend_beside_the_map(demo_network, kind):
    """With the site's stylesheet the legend is a panel to the right of the map, as tall as
    it, each symbol on the first line of its name (the map's SVG alone takes the width of its
    column). A substation's legend is long and its names take two lines."""
    from weasyprint import CSS, HTML
    from weasyprint.formatting_structure.boxes import (
        BlockBox,
        LineBox,
        ReplacedBox,
        TableCellBox,
    )

    if kind == "transformer":
        layers, title = transformer_layers(crowded_transformer()), "Transformador"
    else:
        substation = Substation.objects.annotate(n=Count("feeders")).order_by("-n").first()
        layers, title = substation_layers(substation), "Subestación"
    figure = render_static_svg(layers, title=title)
    html = f"<html><body><div class='map-static'>{figure}</div></body></html>"
    css = CSS(filename=finders.find("css/portal.css"))
    (page,) = HTML(string=html).render(stylesheets=[css]).pages

    def boxes(cls: str, kind: type) -> list:
        return [
            b
            for b in page._page_box.descendants()
            if isinstance(b, kind) and b.element is not None and b.element.get("class") == cls
        ]

    (title_box,) = boxes("static-map-title", BlockBox)
    (drawing,) = boxes("static-map-svg", ReplacedBox)
    (panel,) = boxes("static-map-legend", TableCellBox)
    (symbols,) = [b for b in panel.descendants() if isinstance(b, ReplacedBox)]
    names = [b for b in panel.descendants() if isinstance(b, BlockBox) and b.element_tag == "li"]
    assert len(names) == len(layers)
    assert title_box.position_y + title_box.height <= drawing.position_y
    left, right = drawing.position_x, drawing.position_x + drawing.width
    assert right < panel.position_x, "the legend is right of the map"
    assert panel.position_x + panel.border_width() <= page.width
    assert panel.width == pytest.approx((right - left) * 240 / 636, rel=0.1)
    assert panel.position_y == pytest.approx(drawing.position_y, abs=1)
    assert panel.border_height() == pytest.approx(drawing.height, abs=1)
    last = names[-1]
    assert last.position_y + last.height <= panel.position_y + panel.border_height()
    assert symbols.width < 25 and symbols.position_x + symbols.width < names[0].position_x

    # Each symbol is centred on the first line of its name, to within a pixel.
    (legend_svg,) = [
        e
        for e in ET.fromstring(str(figure)).iter(f"{SVG}svg")
        if e.get("class") != "static-map-svg"
    ]
    scale = symbols.height / float(legend_svg.get("viewBox").split()[3])
    lines = [[b for b in li.descendants() if isinstance(b, LineBox)] for li in names]
    for layer, element, li_lines in zip(layers, legend_svg, lines, strict=True):
        first = li_lines[0]
        assert symbols.position_y + _centre_y(element) * scale == pytest.approx(
            first.position_y + first.height / 2, abs=1
        ), layer.name
    if kind == "substation":
        assert any(len(li_lines) > 1 for li_lines in lines), "names of two lines"


# --- vendored Leaflet -----------------------------------------------------------------------


@pytest.mark.parametrize("path", LEAFLET_FILES)
def test_vendored_leaflet_files_are_found_by_the_static_finders(path):
    found = finders.find(path)
    assert found and Path(found).stat().st_size > 0
    out = StringIO()
    call_command("findstatic", path, stdout=out)
    assert str(Path(found)) in out.getvalue()


def test_vendored_leaflet_is_the_release_its_source_file_names():
    leaflet = Path(finders.find("vendor/leaflet/leaflet.js")).read_text()
    assert 'version="1.9.4"' in leaflet
    assert "leaflet@1.9.4" in Path(finders.find("vendor/leaflet/SOURCE.txt")).read_text()
