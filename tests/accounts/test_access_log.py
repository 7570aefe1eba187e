from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import ProtectedError
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import AccessLog
from accounts.services import log_access

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_of(rf: RequestFactory):
    def make(user, path: str = "/red/subestaciones/7/?formato=pdf", **meta):
        request = rf.get(path, **meta)
        request.user = user
        return request

    return make


def test_a_registered_users_view_is_written_to_the_access_log(request_of, public_user):
    log_access(request_of(public_user), "subestacion", "SE-007")
    entry = AccessLog.objects.get()
    assert entry.user == public_user
    assert entry.kind == AccessLog.Kind.SUBSTATION
    assert entry.reference == "SE-007"
    assert entry.path == "/red/subestaciones/7/?formato=pdf"
    assert entry.ip == "127.0.0.1"
    assert entry.at is not None


def test_an_anonymous_view_leaves_no_trace(request_of):
    log_access(request_of(AnonymousUser()), "subestacion", "SE-007")
    assert not AccessLog.objects.exists()


def test_each_view_is_its_own_row(request_of, public_user):
    for kind in ("busqueda", "alimentador", "transformador", "vnr", "pdf"):
        log_access(request_of(public_user), kind)
    assert AccessLog.objects.count() == 5
    assert public_user.accesses.count() == 5


def test_every_kind_the_portal_shows_is_accepted(request_of, public_user):
    for kind in AccessLog.Kind.values:
        log_access(request_of(public_user), kind, "x")
    assert AccessLog.objects.count() == len(AccessLog.Kind.values)
    assert {
        "subestacion",
        "alimentador",
        "transformador",
        "busqueda",
        "vnr",
        "poste",
        "vano",
        "equipo",
        "pdf",
    } <= set(AccessLog.Kind.values)


def test_an_unknown_kind_is_a_programming_error(request_of, public_user):
    with pytest.raises(ValueError, match="unknown access kind"):
        log_access(request_of(public_user), "subestación")
    assert not AccessLog.objects.exists()


def test_long_references_and_paths_are_cut_to_fit(request_of, public_user):
    log_access(request_of(public_user, "/red/buscar/?q=" + "a" * 900), "busqueda", "b" * 500)
    entry = AccessLog.objects.get()
    assert len(entry.reference) == 200
    assert len(entry.path) == 500


def test_a_bad_address_is_stored_as_unknown(request_of, public_user):
    log_access(request_of(public_user, REMOTE_ADDR="no-es-ip"), "vnr", "VNR-1")
    assert AccessLog.objects.get().ip is None


def test_an_ipv6_address_is_kept(request_of, public_user):
    log_access(request_of(public_user, REMOTE_ADDR="2001:db8::1"), "vnr", "VNR-1")
    assert AccessLog.objects.get().ip == "2001:db8::1"


def test_the_log_lists_newest_first(request_of, public_user):
    log_access(request_of(public_user), "vnr", "primero")
    log_access(request_of(public_user), "vnr", "segundo")
    assert [e.reference for e in AccessLog.objects.all()] == ["segundo", "primero"]


def test_a_user_with_accesses_cannot_be_deleted_so_the_trail_stays(request_of, public_user):
    log_access(request_of(public_user), "vnr", "VNR-1")
    with pytest.raises(ProtectedError):
        public_user.delete()


class TestAdmin:
    def changelist(self) -> str:
        return reverse("admin:accounts_accesslog_changelist")

    def test_a_superuser_lists_the_log_filtered_by_kind_and_date(
        self, admin_client, request_of, public_user
    ):
        log_access(request_of(public_user), "subestacion", "SE-1")
        log_access(request_of(public_user), "vnr", "VNR-1")
        response = admin_client.get(self.changelist(), {"kind__exact": "vnr"})
        assert response.status_code == 200
        assert [e.reference for e in response.context["cl"].result_list] == ["VNR-1"]
        response = admin_client.get(self.changelist(), {"at__gte": "2000-01-01 00:00:00+00:00"})
        assert response.status_code == 200
        assert response.context["cl"].result_count == 2

    def test_a_superuser_searches_the_log_by_username(
        self, admin_client, request_of, public_user, django_user_model
    ):
        other = django_user_model.objects.create_user("otro_usuario", "o@example.cl")
        log_access(request_of(public_user), "vnr", "de-pmgd")
        log_access(request_of(other), "vnr", "de-otro")
        response = admin_client.get(self.changelist(), {"q": "desarrollador"})
        assert [e.reference for e in response.context["cl"].result_list] == ["de-pmgd"]

    def test_the_log_is_read_only_in_the_admin(self, admin_client, request_of, public_user):
        log_access(request_of(public_user), "vnr", "VNR-1")
        entry = AccessLog.objects.get()
        assert admin_client.get(reverse("admin:accounts_accesslog_add")).status_code == 403
        change = admin_client.get(reverse("admin:accounts_accesslog_change", args=[entry.pk]))
        assert change.status_code == 200
        assert not change.context["has_change_permission"]
        assert 'name="_save"' not in change.content.decode()
        delete = reverse("admin:accounts_accesslog_delete", args=[entry.pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        assert AccessLog.objects.filter(pk=entry.pk).exists()

    def test_the_log_list_makes_no_query_per_row(
        self, admin_client, request_of, public_user, django_assert_max_num_queries
    ):
        for n in range(30):
            log_access(request_of(public_user), "poste", f"P-{n}")
        with django_assert_max_num_queries(12):
            assert admin_client.get(self.changelist()).status_code == 200

    def test_a_planner_cannot_read_the_log(self, client, planner):
        client.force_login(planner)
        assert client.get(self.changelist()).status_code == 403
