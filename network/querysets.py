"""The network's reusable reads (the style of djangoproject.com's EntryQuerySet): pages, grid
downloads and the API call these, so a list is read the same way everywhere. Related models
are reached through the relations (`self.model._meta`), so this module imports no model."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Prefetch

from accounts.permissions import customers_visible_to
from core.models import AssetQuerySet


class SubstationQuerySet(AssetQuerySet):
    def of_comuna(self, comuna) -> SubstationQuerySet:
        return self.filter(comuna=comuna).order_by("code")


class FeederQuerySet(models.QuerySet):
    def of_substation(self, substation) -> FeederQuerySet:
        return self.filter(substation=substation).order_by("name")

    def with_transformer_codes(self) -> FeederQuerySet:
        """Each feeder's transformers (id and code only, by code), as the grids list them."""
        transformers = self.model._meta.get_field("transformers").related_model
        return self.prefetch_related(
            Prefetch(
                "transformers",
                transformers.objects.order_by("code").only("pk", "code", "feeder_id"),
            )
        )


class FeederAssetQuerySet(AssetQuerySet):
    """Reads of the assets that hang from a feeder, shared by the pages, the grid downloads
    and the API: the feeder's own, searched by the start of their identifier (as typed or
    upper-cased: plates and codes are stored upper-case), listed with their VNR code."""

    ident_field = "code"

    def of_feeder(self, feeder) -> FeederAssetQuerySet:
        return self.filter(feeder=feeder)

    def identified_by(self, term: str) -> FeederAssetQuerySet:
        term = term.strip()
        if not term:
            return self
        return self.filter(**{f"{self.ident_field}__startswith": term.upper()})

    def listed(self) -> FeederAssetQuerySet:
        return self.annotate(vnr_code=F("vnr__code")).order_by(self.ident_field)


class TransformerQuerySet(FeederAssetQuerySet):
    def serving(self, customer_number: str) -> TransformerQuerySet:
        """The transformer of the service point with this customer number, and nothing about
        the customer (the public searches ask this; SPEC: a customer is only a number tied
        to a transformer)."""
        customers = self.model._meta.get_field("customers").related_model
        served = customers.objects.filter(number=customer_number.strip()).values("transformer_id")
        return self.filter(pk__in=served)


class PoleQuerySet(FeederAssetQuerySet):
    ident_field = "plate"


class SpanQuerySet(FeederAssetQuerySet):
    def listed(self) -> SpanQuerySet:
        return (
            super()
            .listed()
            .annotate(from_plate=F("from_pole__plate"), to_plate=F("to_pole__plate"))
        )


class EquipmentQuerySet(FeederAssetQuerySet):
    def with_history(self) -> EquipmentQuerySet:
        """Each equipment's monthly settings, newest first, as `history`."""
        settings = self.model._meta.get_field("settings").related_model
        return self.prefetch_related(
            Prefetch("settings", settings.objects.order_by("-month"), to_attr="history")
        )


class CustomerQuerySet(AssetQuerySet):
    def visible_to(self, user) -> CustomerQuerySet:
        """The customers `user` may see (accounts.permissions): all for SEC, their own for a
        customer's account, none for anyone else."""
        return customers_visible_to(user, self)
