"""Keep derived network data in step with topology edits made one row at a time (admin)."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from network.models import Span
from network.services.outline import refresh_outlines


@receiver(pre_save, sender=Span)
def remember_previous_feeder(sender, instance: Span, **kwargs) -> None:
    instance._previous_feeder_id = (
        Span.objects.filter(pk=instance.pk).values_list("feeder_id", flat=True).first()
        if instance.pk
        else None
    )


@receiver(post_save, sender=Span)
@receiver(post_delete, sender=Span)
def refresh_feeder_outline(sender, instance: Span, **kwargs) -> None:
    # In the same transaction as the edit: one UPDATE of one feeder's outline.
    refresh_outlines({instance.feeder_id, getattr(instance, "_previous_feeder_id", None)} - {None})
