"""The bill explained: how much a month's charges changed against another month, split into
what the change of consumption did and what the change of price did.

The price of a month is its charges over its consumption ($/kWh, every charge included). With
q the consumption and p the price, charges are q·p, and the change splits exactly into

    consumption effect = Δq · (p₀ + p₁) / 2      price effect = Δp · (q₀ + q₁) / 2

(the midpoint, or Shapley, split: neither month is favoured, nothing is left unexplained).
In whole pesos the consumption effect is rounded and the price effect is the rest, so the two
always add up to the change to the peso. A month without consumption has no price: the whole
change is then put down to consumption (to price when neither month had any).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from core.numbers import clp


@dataclass(frozen=True)
class Effects:
    change: int
    consumption: int
    price: int

    def sentence(self) -> str:
        """One sentence in Spanish: "+$ 4.210: +$ 3.100 por mayor consumo y +$ 1.110 por
        mayor precio"."""
        if self.change == 0 and self.consumption == 0:
            return "Sin variación ($\u00a00)."
        parts = []
        for amount, more, less in (
            (self.consumption, "mayor consumo", "menor consumo"),
            (self.price, "mayor precio", "menor precio"),
        ):
            if amount:
                parts.append(f"{clp(amount, signed=True)} por {more if amount > 0 else less}")
        head = clp(self.change, signed=True) if self.change else "Sin variación ($\u00a00)"
        return f"{head}: {' y '.join(parts)}."


def split_change(
    before_kwh: Decimal | float | int,
    before_clp: int,
    after_kwh: Decimal | float | int,
    after_clp: int,
) -> Effects:
    """The change from the `before` month to the `after` month, as two effects that add up."""
    q0, q1 = Decimal(str(before_kwh)), Decimal(str(after_kwh))
    c0, c1 = int(before_clp), int(after_clp)
    change = c1 - c0
    if q0 <= 0 and q1 <= 0:
        return Effects(change, 0, change)  # only fixed charges moved
    if q0 <= 0 or q1 <= 0:
        return Effects(change, change, 0)
    p0, p1 = Decimal(c0) / q0, Decimal(c1) / q1
    consumption = int(((q1 - q0) * (p0 + p1) / 2).quantize(Decimal(1), ROUND_HALF_EVEN))
    return Effects(change, consumption, change - consumption)
