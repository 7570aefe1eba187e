"""A load transfer recorded, changed or deleted (admin, one at a time) changes the monthly
demand of the months it touches: they are computed again once the change is committed."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from core.months import month_start
from metering.models import LoadTransfer
from metering.services import partitions
from metering.tasks import recompute_monthly_demand


def months_touched(transfer: LoadTransfer) -> set[date]:
    """The local months from the transfer's start to its end that hold readings."""
    first = month_start(transfer.starts_at)
    last = month_start(transfer.ends_at)
    return {month for month in partitions.partition_months() if first <= month <= last}


@receiver(pre_save, sender=LoadTransfer)
def remember_previous_period(sender, instance: LoadTransfer, **kwargs) -> None:
    previous = LoadTransfer.objects.filter(pk=instance.pk).first() if instance.pk else None
    instance._previous_months = months_touched(previous) if previous else set()


@receiver(post_save, sender=LoadTransfer)
@receiver(post_delete, sender=LoadTransfer)
def transfer_changed(sender, instance: LoadTransfer, **kwargs) -> None:
    months = months_touched(instance) | getattr(instance, "_previous_months", set())
    instance.demand_months = months  # for the admin's message
    if months:
        names = [f"{month:%Y-%m}" for month in sorted(months)]
        transaction.on_commit(lambda: recompute_monthly_demand.delay(names), robust=True)
