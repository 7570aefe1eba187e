"""The VEE and the monitoring of the demo's readings, run as in production: a load
transfer to explain, then validation, balances, alarms and the month's demand."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection

from metering.models import LoadTransfer
from metering.services import backup, reports, vee, virtual
from metering.services.demo.plan import Plan
from metering.services.monitoring import monitor


class Monitoring(Plan):
    def validate_and_monitor(self) -> None:
        start, end = self.transfer
        # bulk_create: no signal (it would compute again the month monitor() computes below).
        LoadTransfer.objects.bulk_create(
            [
                LoadTransfer(
                    feeder_id=self.transfer_feeder,
                    starts_at=start,
                    ends_at=end,
                    reason=(
                        "Traspaso de carga desde alimentador vecino por mantenimiento programado"
                    ),
                    as_of=self.as_of,
                )
            ]
        )
        with connection.cursor() as cur:
            # Fresh tables: without statistics the planner would guess the VEE's joins badly.
            cur.execute("ANALYZE metering_intervalreading, metering_channel, metering_meter")
        last = self.as_of - timedelta(days=1)
        vee.validate(self.first_day, last)
        # As the daily task does: the VEE's estimates feed the virtual meters.
        virtual.compute(self.first_day, last)
        backup.compare(self.first_day, last)
        monitor(self.month)
        reports.scheduled_reports(self.month)  # as the monthly task leaves them
