"""The bill explained and the charts, as pure functions of the figures."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from customers.lib.charts import Series, axes_for, bar_chart, nice_step
from customers.lib.explain import split_change

KWH = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False)
PESOS = st.integers(min_value=0, max_value=100_000_000)


@given(KWH, PESOS, KWH, PESOS)
def test_the_consumption_and_price_effects_add_up_to_the_change_exactly(q0, c0, q1, c1):
    effects = split_change(q0, c0, q1, c1)
    assert effects.change == c1 - c0
    assert effects.consumption + effects.price == effects.change
    assert isinstance(effects.consumption, int) and isinstance(effects.price, int)


@given(KWH.filter(lambda q: q > 0), PESOS, KWH.filter(lambda q: q > 0))
def test_the_same_price_puts_the_whole_change_on_consumption(q0, c0, q1):
    price = Decimal(c0) / q0
    c1 = int((price * q1).to_integral_value())
    effects = split_change(q0, c0, q1, c1)
    # Only c1's rounding to whole pesos moved the price: by at most half a peso over q1 kWh.
    assert abs(effects.price) <= Decimal("0.5") * (q0 / q1 + 1) / 2 + 1


@given(KWH.filter(lambda q: q > 0), PESOS, PESOS)
def test_the_same_consumption_puts_the_whole_change_on_price(q, c0, c1):
    effects = split_change(q, c0, q, c1)
    assert effects.consumption == 0 and effects.price == c1 - c0


def test_a_month_without_consumption_puts_the_change_on_consumption():
    assert split_change(0, 1200, 300, 60_000).consumption == 58_800
    assert split_change(0, 1200, 0, 1500).price == 300  # only the fixed charge moved


def test_a_known_month_splits_at_the_midpoint():
    # 400 kWh at $150 → 450 kWh at $160: Δq·p̄ = 50·155, Δp·q̄ = 10·425.
    effects = split_change(400, 60_000, 450, 72_000)
    assert (effects.change, effects.consumption, effects.price) == (12_000, 7_750, 4_250)
    assert effects.sentence() == (
        "+$\u00a012.000: +$\u00a07.750 por mayor consumo y +$\u00a04.250 por mayor precio."
    )


# --- charts ------------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def test_axis_steps_are_round():
    assert [nice_step(v) for v in (0.7, 3, 23, 180, 2600)] == [1, 5, 25, 200, 5000]


def test_both_axes_put_zero_on_the_same_line():
    axes = axes_for(
        [Series("a", [100, 700], "#000", 0), Series("b", [-150_000, 20_000], "#f00", 1)]
    )
    left, right = axes[0], axes[1]
    assert left.negative_ticks == right.negative_ticks >= 2
    assert left.low / (left.high - left.low) == right.low / (right.high - right.low)


def test_a_missing_month_draws_no_bar_and_labels_are_escaped():
    svg = bar_chart(
        ["ene <26>", "feb 26"],
        [Series("Consumo & más", [None, 5.0], "#000")],
        title="T",
    )
    tree = etree.fromstring(svg.encode())  # well-formed: the text was escaped
    titles = [r.findtext(f"{SVG}title") for r in tree.iter(f"{SVG}rect") if len(r)]
    assert titles == ["feb 26 · Consumo & más: 5"]
    assert tree.findtext(f"{SVG}title") == "T"
