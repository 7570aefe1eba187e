"""EG customers' connection contracts and their remanentes: net billing credit generated,
discounted from later bills and paid on the contract's anniversary."""

from __future__ import annotations

from datetime import date, timedelta

from metering.models import EgContract, RemanenteMovement
from metering.services.demo.bills import Bills


class Remanentes(Bills):
    def _contracts(self) -> dict[int, EgContract]:
        rng = self.rng
        forms = [choice for choice, _ in EgContract.LiquidationForm.choices]
        contracts = {}
        for n, c in enumerate((c for c in self.customers if c.is_eg), start=1):
            signed = c.eg_connected_on - timedelta(days=rng.randint(15, 75))
            anniversary = date(self.as_of.year, signed.month, min(signed.day, 28))
            if anniversary < self.as_of:
                anniversary = date(self.as_of.year + 1, signed.month, min(signed.day, 28))
            contracts[c.pk] = EgContract(
                customer_id=c.pk,
                number=f"CC-{signed.year}-{n:04d}",
                signed_on=signed,
                liquidation_form=rng.choices(forms, weights=(55, 25, 10, 10))[0],
                liquidation_date=anniversary,
                as_of=self.as_of,
            )
        return contracts

    def _remanentes(self, contracts: dict[int, EgContract]) -> dict[tuple[int, date], int]:
        """Net billing credit month by month: generated when the injections are worth more
        than the bill, discounted from the next bills, paid on the contract's anniversary when
        the contract says so. Returns what each month's boleta had discounted."""
        applied: dict[tuple[int, date], int] = {}
        rows = []
        for c in self.customers:
            if not c.is_eg:
                continue
            contract = contracts[c.pk]
            pays = contract.liquidation_form != EgContract.LiquidationForm.DISCOUNT
            balance = 0
            for bill in self.bills[c.pk]:
                if bill.injection is None:
                    continue
                on = self._issued(bill)
                moves = []
                if bill.net < 0:
                    kwh = round(bill.injection * -bill.net / bill.injection_value, 3)
                    moves.append((RemanenteMovement.Kind.GENERATED, -bill.net, kwh))
                elif bill.net > 0 and balance > 0:
                    used = min(balance, bill.net)
                    applied[(c.pk, bill.month)] = used
                    moves.append((RemanenteMovement.Kind.APPLIED, used, None))
                for kind, amount, kwh in moves:
                    balance += amount if kind == RemanenteMovement.Kind.GENERATED else -amount
                    rows.append(self._movement(c, bill, on, kind, amount, kwh, balance))
                if pays and bill.month.month == contract.signed_on.month and balance > 0:
                    paid, balance = balance, 0
                    rows.append(
                        self._movement(c, bill, on, RemanenteMovement.Kind.PAID, paid, None, 0)
                    )
        RemanenteMovement.objects.bulk_create(rows, batch_size=2000)
        return applied

    def _movement(self, c, bill, on, kind, amount, kwh, balance) -> RemanenteMovement:
        return RemanenteMovement(
            distributor_id=c.distributor_id,
            customer_id=c.pk,
            external_id=f"RM-{c.number}-{bill.month:%Y%m}-{kind[:3].upper()}",
            date=on,
            kind=kind,
            amount_clp=amount,
            kwh=kwh,
            balance_clp=balance,
            as_of=self.as_of,
        )
