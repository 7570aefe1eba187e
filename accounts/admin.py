from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError

from accounts.issuance import (
    IssueError,
    ResendReport,
    SecPlan,
    email_in_use,
    issue_sec_account,
    plan_sec_account,
    resend_sec_links,
)
from accounts.models import AccessLog, SecAccount, User
from core.admin import EstimatedCountPaginator

PROFILE = ("Perfil en el portal", {"fields": ["profile", "rut", "customer"]})


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username", "email", "first_name", "last_name", "profile", "rut", "customer", "is_staff",
    ]  # fmt: skip
    list_filter = ["profile", "is_staff", "is_superuser", "is_active", "groups"]
    list_select_related = ["customer"]
    search_fields = ["username", "email", "first_name", "last_name", "rut", "customer__number"]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    fieldsets = [*BaseUserAdmin.fieldsets, PROFILE]
    add_fieldsets = [*BaseUserAdmin.add_fieldsets, PROFILE]


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """The access trail, read-only: nobody adds, edits or deletes an access from here."""

    list_display = ["at", "user", "kind", "reference", "path", "ip"]
    # The date filter offers fixed ranges (today, 7 days, month, year); a date hierarchy
    # would scan the whole trail for its distinct dates.
    list_filter = ["kind", "at"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    # The trail grows without end: no full counts, no facet counts.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Issued accounts: SEC auditors' here, customers' in customers.admin --------------------------


class IssuedAccountAdmin(admin.ModelAdmin):
    """What the admins of the accounts the distributor issues share: the account is created by
    the issuance service with the admin's add form as its input, staff are told whether the
    link's email went, and the list resends the link."""

    actions = ["resend_link"]
    ordering = ["username"]
    show_full_result_count = False

    def resend(self, request, queryset) -> ResendReport:
        raise NotImplementedError

    def adopt(self, obj: User, user: User) -> None:
        """Make the object the admin built (history entry, redirect) the saved account."""
        for model_field in type(obj)._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(user, model_field.attname))
        obj._state.adding = False
        obj._state.db = user._state.db

    def report_issued(self, request, user: User, mail_error: str) -> None:
        if not mail_error:
            self.message_user(
                request,
                f"Cuenta {user.username} emitida: se envió a {user.email} el enlace para "
                "definir la clave.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                f"Cuenta {user.username} emitida, pero el correo no salió ({mail_error}). "
                "Reenvíe el enlace desde la lista.",
                messages.WARNING,
            )

    @admin.action(description="Reenviar enlace para definir la clave", permissions=["change"])
    def resend_link(self, request, queryset):
        report = self.resend(request, queryset)
        if report.sent:
            self.message_user(
                request, f"Enlace enviado a {report.sent} cuenta(s).", messages.SUCCESS
            )
        if report.inactive:
            self.message_user(
                request,
                f"{len(report.inactive)} cuenta(s) desactivada(s) no recibieron el enlace: "
                f"{', '.join(report.inactive)}.",
                messages.WARNING,
            )
        if report.failed:
            self.message_user(
                request,
                f"El correo no salió para {', '.join(report.failed)}; intente más tarde.",
                messages.ERROR,
            )


class SecAccountAddForm(forms.ModelForm):
    class Meta:
        model = SecAccount
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan: SecPlan | None = None
        email = self.fields["email"]
        email.required = True
        email.help_text = "Recibirá el enlace para definir su clave. No puede tener otra cuenta."
        self.fields["username"].help_text = (
            "Con el que ingresará al portal: letras, números y @ . + - _. No puede ser el de "
            "otra cuenta, tampoco con otras mayúsculas."
        )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            plan = plan_sec_account(
                data["username"], data["email"], data.get("first_name"), data.get("last_name")
            )
        except IssueError as exc:
            # The service's field names are the form's.
            self.add_error(exc.field, exc.message)
            return data
        if plan.existing is not None:
            # On the field, so the model's own unique check does not repeat it.
            self.add_error(
                "username",
                ValidationError(
                    f"La cuenta SEC {plan.existing.username} ya existe con ese correo. Para "
                    "mandarle otro enlace, use la acción «Reenviar enlace para definir la "
                    "clave» de la lista.",
                    code="issued",
                ),
            )
            return data
        self.plan = plan
        return data


class SecAccountChangeForm(forms.ModelForm):
    class Meta:
        model = SecAccount
        fields = ["first_name", "last_name", "email", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if email_in_use(email, exclude=self.instance):
            raise ValidationError(f"El correo {email} ya está en uso por otra cuenta.")
        return email


@admin.register(SecAccount)
class SecAccountAdmin(IssuedAccountAdmin):
    """The SEC auditors' accounts: list, issue one, resend the link. Never a password field:
    the account is created without one and the auditor defines it from the emailed link; the
    profile is always sec and never staff."""

    list_display = ["username", "full_name", "email", "is_active", "last_login"]
    list_filter = ["is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    raw_id_fields = ["customer"]  # on no form of this admin; never a <select> of every customer
    fieldsets = [
        (None, {"fields": ["username", "first_name", "last_name", "email", "is_active"]}),
        ("Fechas", {"fields": ["last_login", "date_joined"]}),
    ]

    @admin.display(description="nombre", ordering="last_name")
    def full_name(self, account: SecAccount) -> str:
        return account.get_full_name()

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        description = (
            "La cuenta se crea con perfil SEC y sin clave: el auditor recibe en su correo un "
            "enlace para definirla. Nadie más conoce ni elige su clave."
        )
        fields = ["username", "first_name", "last_name", "email"]
        return [(None, {"fields": fields, "description": description})]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["username", "last_login", "date_joined"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = SecAccountAddForm if obj is None else SecAccountChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        plan = form.plan
        # The form ran the same checks; only a simultaneous issuance of the same name or
        # email fails here, and the admin's transaction then leaves nothing behind.
        result = issue_sec_account(
            plan.username,
            plan.email,
            first_name=plan.first_name,
            last_name=plan.last_name,
            site=request,
        )
        self.adopt(obj, result.user)
        self.report_issued(request, result.user, result.mail_error)

    def resend(self, request, queryset) -> ResendReport:
        return resend_sec_links(queryset, site=request)
