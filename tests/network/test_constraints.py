"""The database itself rejects invalid network data, whatever path it came in by (imports
write with COPY and bulk_create, which skip model validation)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from accounts.models import User
from demand.models import MonthlyDemand
from network.models import Feeder, Span, Transformer
from tests import factories as f

pytestmark = pytest.mark.django_db

MODEL_APPS = ("geo", "vnr", "network", "demand", "accounts")


@contextmanager
def violates(constraint: str):
    """The block fails with an IntegrityError naming this very constraint."""
    with pytest.raises(IntegrityError, match=rf'"{constraint}"'), transaction.atomic():
        yield


def test_every_model_constraint_has_a_test_here():
    source = Path(__file__).read_text()
    tested = set(re.findall(r'violates\("(\w+)"\)', source))
    declared = {
        constraint.name
        for label in MODEL_APPS
        for model in apps.get_app_config(label).get_models()
        for constraint in model._meta.constraints
    }
    assert declared - tested == set()


# Geography


def test_region_code_must_be_two_digits():
    with violates("region_code_cut"):
        f.make_region(code="1")
    with violates("region_code_cut"):
        f.make_region(code="RM")


def test_region_utm_zone_17_is_rejected():
    with violates("region_utm_zone"):
        f.make_region(utm_zone=17)


def test_region_utm_zones_18_and_19_are_accepted():
    f.make_region(utm_zone=18)
    f.make_region(utm_zone=19)


def test_duplicate_region_code_is_rejected():
    region = f.make_region()
    with violates("geo_region_code_key"):
        f.make_region(code=region.code)


def test_comuna_code_must_be_five_digits():
    with violates("comuna_code_cut"):
        f.make_comuna(code="1310")
    with violates("comuna_code_cut"):
        f.make_comuna(code="13A01")


def test_duplicate_comuna_code_is_rejected():
    comuna = f.make_comuna()
    with violates("geo_comuna_code_key"):
        f.make_comuna(code=comuna.code)


# VNR


@pytest.mark.parametrize("cost", ["recargos_1", "montaje", "stotal_2", "total_sin_derechos"])
def test_vnr_negative_cost_is_rejected(cost):
    with violates("vnr_costs_not_negative"):
        f.make_vnr(**{cost: Decimal("-1")})


def test_duplicate_vnr_code_is_rejected():
    vnr = f.make_vnr()
    with violates("vnr_vnrcode_code_key"):
        f.make_vnr(code=vnr.code)


# Substations


def test_duplicate_substation_code_for_the_same_distributor_is_rejected():
    substation = f.make_substation()
    with violates("substation_code_unique"):
        f.make_substation(distributor=substation.distributor, code=substation.code)


def test_same_substation_code_is_allowed_for_another_distributor():
    substation = f.make_substation()
    f.make_substation(code=substation.code)


def test_duplicate_substation_name_is_rejected():
    substation = f.make_substation()
    with violates("network_substation_name_key"):
        f.make_substation(name=substation.name)


def test_substation_without_high_voltage_is_rejected():
    with violates("substation_hv_gt0"):
        f.make_substation(high_voltage_kv=0)


def test_duplicate_power_transformer_code_in_a_substation_is_rejected():
    power = f.make_power_transformer()
    with violates("power_transformer_code"):
        f.make_power_transformer(substation=power.substation, code=power.code)


def test_duplicate_power_transformer_name_in_a_substation_is_rejected():
    power = f.make_power_transformer()
    with violates("power_transformer_name"):
        f.make_power_transformer(substation=power.substation, name=power.name)


def test_substation_minimum_short_circuit_above_the_maximum_is_rejected():
    with violates("substation_scc_min_lte_max"):
        f.make_substation(scc_max_mva=Decimal("200"), scc_min_mva=Decimal("250"))
    with violates("substation_scc_min_lte_max"):
        f.make_substation(scc_max_mva=Decimal("200"), scc_min_mva=Decimal("0"))


def test_substation_short_circuit_may_be_unknown_or_one_sided():
    f.make_substation(scc_max_mva=Decimal("200"))
    f.make_substation(scc_max_mva=Decimal("200"), scc_min_mva=Decimal("200"))


def test_substation_negative_upstream_ratio_is_rejected():
    with violates("substation_scc_ratios"):
        f.make_substation(scc_rx=Decimal("-0.1"))
    with violates("substation_scc_ratios"):
        f.make_substation(scc_x0x1=Decimal("0"))


# The conductor catalogue


def test_conductor_type_with_impossible_data_is_rejected():
    with violates("conductor_section_gt0"):
        f.make_conductor_type(section_mm2=Decimal("0"))
    with violates("conductor_r20_gt0"):
        f.make_conductor_type(r20_ohm_km=Decimal("0"), r_op_ohm_km=Decimal("0"))
    with violates("conductor_r_op_gte_r20"):  # hotter conductors have more resistance
        f.make_conductor_type(r_op_ohm_km=Decimal("0.3"))
    with violates("conductor_temp_gte20"):
        f.make_conductor_type(operating_temp_c=10)
    with violates("conductor_impedances_gt0"):
        f.make_conductor_type(x0_ohm_km=Decimal("0"))
    with violates("conductor_ampacity_gt0"):
        f.make_conductor_type(ampacity_a=0)


def test_duplicate_conductor_code_is_rejected():
    conductor = f.make_conductor_type()
    with violates("network_conductortype_code_key"):
        f.make_conductor_type(code=conductor.code)


def test_power_transformer_without_capacity_is_rejected():
    with violates("power_tr_capacity_gt0"):
        f.make_power_transformer(capacity_mva=0)


def test_power_transformer_that_steps_up_is_rejected():
    with violates("power_tr_steps_down"):
        f.make_power_transformer(primary_kv=Decimal("12"), secondary_kv=Decimal("110"))


# Feeders


def test_duplicate_feeder_code_for_the_same_distributor_is_rejected():
    feeder = f.make_feeder()
    with violates("feeder_code_unique"):
        f.make_feeder(distributor=feeder.distributor, code=feeder.code)


def test_duplicate_feeder_name_is_rejected():
    feeder = f.make_feeder()
    with violates("network_feeder_name_key"):
        f.make_feeder(name=feeder.name)


@pytest.mark.parametrize("kv", ["0.4", "66"])
def test_feeder_outside_medium_voltage_is_rejected(kv):
    with violates("feeder_voltage_is_mv"):
        f.make_feeder(nominal_voltage_kv=Decimal(kv))


def test_feeder_without_short_circuit_power_is_rejected():
    with violates("feeder_scc_gt0"):
        f.make_feeder(short_circuit_kva=0)


def test_subalimentador_with_owner_and_purchase_node_is_accepted():
    feeder = f.make_feeder(kind=Feeder.Kind.SUBFEEDER)
    assert feeder.owner and feeder.purchase_node


def test_subalimentador_without_owner_or_purchase_node_is_rejected():
    with violates("feeder_subfeeder_has_owner_and_node"):
        f.make_feeder(kind=Feeder.Kind.SUBFEEDER, owner=None, purchase_node=None)
    with violates("feeder_subfeeder_has_owner_and_node"):
        f.make_feeder(kind=Feeder.Kind.SUBFEEDER, owner=None)
    with violates("feeder_subfeeder_has_owner_and_node"):
        f.make_feeder(kind=Feeder.Kind.SUBFEEDER, purchase_node=None)


def test_alimentador_with_an_owner_is_rejected():
    with violates("feeder_subfeeder_has_owner_and_node"):
        f.make_feeder(owner=f.make_distributor())


def test_alimentador_with_a_purchase_node_is_rejected():
    with violates("feeder_subfeeder_has_owner_and_node"):
        f.make_feeder(purchase_node=f.make_pole())


# Poles and spans


def test_duplicate_pole_plate_for_the_same_distributor_is_rejected():
    pole = f.make_pole()
    with violates("pole_plate_unique"):
        f.make_pole(feeder=pole.feeder, plate=pole.plate)


def test_same_pole_plate_is_allowed_for_another_distributor():
    pole = f.make_pole()
    f.make_pole(plate=pole.plate)


def test_pole_without_medium_voltage_is_rejected():
    with violates("pole_mt_gt0"):
        f.make_pole(mt_voltage_kv=0)


def test_duplicate_span_code_for_the_same_distributor_is_rejected():
    span = f.make_span()
    with violates("span_code_unique"):
        f.make_span(feeder=span.feeder, code=span.code)


def test_span_of_length_zero_is_rejected():
    with violates("span_length_gt0"):
        f.make_span(length_m=0)


@pytest.mark.parametrize("phases", [0, 4])
def test_span_with_other_than_one_to_three_phases_is_rejected(phases):
    with violates("span_phases"):
        f.make_span(phases=phases)


def test_span_from_a_pole_to_itself_is_rejected():
    pole = f.make_pole()
    with violates("span_nodes_differ"):
        f.make_span(from_pole=pole, to_pole=pole)


def test_span_leaving_the_substation_has_no_origin_pole():
    span = f.make_span()
    Span.objects.filter(pk=span.pk).update(from_pole=None)


# Equipment


def test_duplicate_equipment_code_for_the_same_distributor_is_rejected():
    equipment = f.make_equipment()
    with violates("equipment_code_unique"):
        f.make_equipment(feeder=equipment.feeder, code=equipment.code)


def test_equipment_without_any_capacity_is_rejected():
    with violates("equipment_has_capacity"):
        f.make_equipment(capacity_a=None, capacity_kva=None)


def test_equipment_with_capacity_in_kva_only_is_accepted():
    f.make_equipment(capacity_a=None, capacity_kva=500)


def test_equipment_setting_duplicate_month_is_rejected():
    setting = f.make_equipment_setting(month=date(2024, 5, 1))
    with violates("equipment_setting_month"):
        f.make_equipment_setting(equipment=setting.equipment, month=date(2024, 5, 1))


def test_equipment_setting_month_not_on_day_1_is_rejected():
    with violates("equipment_setting_first_day"):
        f.make_equipment_setting(month=date(2024, 5, 15))


# Distribution transformers


def test_duplicate_transformer_code_for_the_same_distributor_is_rejected():
    transformer = f.make_transformer()
    with violates("transformer_code_unique"):
        f.make_transformer(feeder=transformer.feeder, code=transformer.code)


def test_duplicate_transformer_plate_for_the_same_distributor_is_rejected():
    transformer = f.make_transformer()
    with violates("transformer_plate_unique"):
        f.make_transformer(feeder=transformer.feeder, plate=transformer.plate)


def test_transformer_without_capacity_is_rejected():
    with violates("transformer_kva_gt0"):
        f.make_transformer(capacity_kva=0)


@pytest.mark.parametrize("vk", ["0", "30", "-1"])
def test_transformer_short_circuit_voltage_out_of_range_is_rejected(vk):
    with violates("transformer_vk_range"):
        f.make_transformer(vk_percent=Decimal(vk))


@pytest.mark.parametrize("group", ["Dy", "dyn11", "Dyn12", "YNd", "Xyz1", "Dyn 11"])
def test_transformer_with_a_malformed_vector_group_is_rejected(group):
    with violates("transformer_vector_group"):
        f.make_transformer(vector_group=group)


@pytest.mark.parametrize("group", ["", "Dyn1", "Dyn11", "YNyn0", "Yzn11", "YNd5", "Ii0", "Ii6"])
def test_transformer_vector_groups_of_iec_60076_are_accepted(group):
    f.make_transformer(vector_group=group, vk_percent=Decimal("4"))


def test_transformer_with_unknown_phases_is_rejected():
    with violates("transformer_phases_known"):
        f.make_transformer(kind=Transformer.Kind.SINGLE, phases="X")


def test_trifasico_transformer_on_phases_rs_is_rejected():
    with violates("transformer_three_phase_is_rst"):
        f.make_transformer(kind=Transformer.Kind.THREE, phases="RS")


def test_monofasico_transformer_on_phases_rst_is_rejected():
    with violates("transformer_three_phase_is_rst"):
        f.make_transformer(kind=Transformer.Kind.SINGLE, phases="RST")


def test_monofasico_and_bifasico_transformers_on_their_phases_are_accepted():
    f.make_transformer(kind=Transformer.Kind.SINGLE, phases="R")
    f.make_transformer(kind=Transformer.Kind.TWO, phases="ST")


# Customers


def test_duplicate_customer_number_for_the_same_distributor_is_rejected():
    customer = f.make_customer()
    with violates("customer_number_unique"):
        f.make_customer(transformer=customer.transformer, number=customer.number)


@pytest.mark.parametrize("rut", ["12.345.678-5", "123456785", "12345678-k", "123456789-5"])
def test_customer_with_unnormalized_rut_is_rejected(rut):
    with violates("customer_rut_normalized"):
        f.make_customer(rut=rut)


def test_customer_with_normalized_rut_ending_in_k_is_accepted():
    assert f.valid_rut(10_000_013) == "10000013-K"
    f.make_customer(rut="10000013-K")


@pytest.mark.parametrize("day", [0, 32])
def test_customer_billing_day_outside_the_month_is_rejected(day):
    with violates("customer_billing_day"):
        f.make_customer(billing_day=day)


def test_eg_customer_with_its_plant_data_is_accepted():
    customer = f.make_customer(is_eg=True)
    assert customer.eg_capacity_kw > 0


@pytest.mark.parametrize(
    "missing",
    [
        {"eg_capacity_kw": None},
        {"eg_capacity_kw": Decimal("0")},
        {"eg_technology": ""},
        {"eg_connected_on": None},
    ],
)
def test_eg_customer_without_eg_data_is_rejected(missing):
    with violates("customer_eg_data_iff_eg"):
        f.make_customer(is_eg=True, **missing)


@pytest.mark.parametrize(
    "eg_data",
    [
        {"eg_capacity_kw": Decimal("5")},
        {"eg_technology": "solar"},
        {"eg_connected_on": date(2024, 3, 1)},
    ],
)
def test_customer_without_eg_with_eg_data_is_rejected(eg_data):
    with violates("customer_eg_data_iff_eg"):
        f.make_customer(is_eg=False, **eg_data)


# Monthly demand


def test_demand_of_both_a_feeder_and_a_transformer_is_rejected():
    transformer = f.make_transformer()
    with violates("demand_exactly_one_asset"):
        f.make_demand(feeder=transformer.feeder, transformer=transformer)


def test_demand_of_no_asset_is_rejected():
    with violates("demand_exactly_one_asset"):
        MonthlyDemand.objects.create(
            month=date(2024, 1, 1), max_kw=Decimal("10"), min_kw=Decimal("1")
        )


def test_demand_with_minimum_above_maximum_is_rejected():
    with violates("demand_min_le_max"):
        f.make_demand(max_kw=Decimal("100"), min_kw=Decimal("101"))


def test_demand_with_negative_minimum_is_rejected():
    with violates("demand_min_le_max"):
        f.make_demand(max_kw=Decimal("100"), min_kw=Decimal("-1"))


def test_demand_month_not_on_day_1_is_rejected():
    with violates("demand_first_day"):
        f.make_demand(month=date(2024, 1, 2))


def test_duplicate_feeder_month_demand_is_rejected():
    demand = f.make_demand(month=date(2024, 1, 1))
    with violates("demand_feeder_month"):
        f.make_demand(feeder=demand.feeder, month=date(2024, 1, 1))


def test_duplicate_transformer_month_demand_is_rejected():
    demand = f.make_demand(transformer=f.make_transformer(), month=date(2024, 1, 1))
    with violates("demand_transformer_month"):
        f.make_demand(transformer=demand.transformer, month=date(2024, 1, 1))


def test_feeder_and_its_transformer_may_share_a_month():
    transformer = f.make_transformer()
    f.make_demand(feeder=transformer.feeder, month=date(2024, 1, 1))
    f.make_demand(transformer=transformer, month=date(2024, 1, 1))


# Accounts


def test_user_with_unnormalized_rut_is_rejected():
    with violates("user_rut_normalized"):
        User.objects.create_user("rut-con-puntos", rut="12.345.678-5")


def test_user_without_rut_is_accepted():
    User.objects.create_user("sin-rut")


@pytest.mark.parametrize("profile", [User.Profile.CLIENT, User.Profile.EG])
def test_client_or_eg_user_without_a_customer_is_rejected(profile):
    with violates("user_customer_profiles_have_customer"):
        User.objects.create_user(f"cliente-{profile}", profile=profile)


def test_client_user_with_a_customer_is_accepted():
    User.objects.create_user("cliente", profile=User.Profile.CLIENT, customer=f.make_customer())


def test_equipment_setting_without_any_capacity_is_rejected():
    with violates("equipment_setting_has_capacity"):
        f.make_equipment_setting(capacity_a=None, capacity_kva=None)
