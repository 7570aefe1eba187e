"""Customer service's admin of customers' accounts: list, issue one, resend the link.

The add form asks only for the customer number, the email and the profile; the account is
created without a password and the customer defines it from the emailed link
(customers.services.issuance holds the rules).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.admin import IssuedAccountAdmin
from accounts.issuance import IssueError, ResendReport, email_in_use
from accounts.models import User
from customers.models import CUSTOMER_PROFILES, CustomerAccount
from customers.services.issuance import (
    Plan,
    check_profile,
    issue_account,
    plan_account,
    resend_links,
)
from network.models import Distributor

PROFILE_CHOICES = [
    (value, label) for value, label in User.Profile.choices if value in CUSTOMER_PROFILES
]
PROFILE_HELP = "Sigue los datos del cliente: eg si tiene generación (EG) registrada, cliente si no."


class CustomerAccountAddForm(forms.ModelForm):
    customer_number = forms.CharField(
        label="Número de cliente",
        max_length=20,
        help_text="El de la boleta. Es también el nombre de usuario de la cuenta (con el código "
        "de la distribuidora si otra cuenta ya lo usa).",
    )
    distributor = forms.ModelChoiceField(
        label="Empresa distribuidora",
        queryset=Distributor.objects.order_by("code"),
        required=False,
        help_text="Solo si el número de cliente existe en más de una distribuidora.",
    )
    profile = forms.ChoiceField(label="Perfil", choices=PROFILE_CHOICES, help_text=PROFILE_HELP)

    class Meta:
        model = CustomerAccount
        fields = ["email", "profile"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan: Plan | None = None
        email = self.fields["email"]
        email.required = True
        email.help_text = "Recibirá el enlace para definir su clave. No puede tener otra cuenta."

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            plan = plan_account(
                data["customer_number"],
                data["email"],
                data["profile"],
                distributor=data.get("distributor"),
            )
        except IssueError as exc:
            # The service's field names are the form's.
            self.add_error(exc.field, exc.message)
            return data
        if plan.existing is not None:
            raise ValidationError(
                f"El cliente {plan.customer.number} ya tiene su cuenta (usuario "
                f"{plan.existing.username}). Para mandarle otro enlace, use la acción «Reenviar "
                "enlace para definir la clave» de la lista.",
                code="issued",
            )
        self.plan = plan
        return data


class CustomerAccountChangeForm(forms.ModelForm):
    profile = forms.ChoiceField(label="Perfil", choices=PROFILE_CHOICES, help_text=PROFILE_HELP)

    class Meta:
        model = CustomerAccount
        fields = ["email", "profile", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if email_in_use(email, exclude=self.instance):
            raise ValidationError(f"El correo {email} ya está en uso por otra cuenta.")
        return email

    def clean_profile(self):
        profile = self.cleaned_data["profile"]
        try:
            check_profile(self.instance.customer, profile)
        except IssueError as exc:
            raise ValidationError(exc.message) from exc
        return profile


@admin.register(CustomerAccount)
class CustomerAccountAdmin(IssuedAccountAdmin):
    list_display = ["username", "email", "profile", "customer_number", "is_active", "last_login"]
    list_filter = ["profile", "is_active"]
    list_select_related = ["customer"]
    search_fields = ["=customer__number", "email", "username"]
    raw_id_fields = ["customer"]
    fieldsets = [
        (None, {"fields": ["username", "customer", "email", "profile", "is_active"]}),
        ("Fechas", {"fields": ["last_login", "date_joined"]}),
    ]

    @admin.display(description="número de cliente", ordering="customer__number")
    def customer_number(self, account: CustomerAccount) -> str:
        return account.customer_number

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        fields = ["customer_number", "email", "profile"]
        # Asked only where a number can be ambiguous: most portals hold one distributor.
        if Distributor.objects.count() > 1:
            fields.insert(1, "distributor")
        description = (
            "La cuenta se crea sin clave: el cliente recibe en su correo un enlace para "
            "definirla. Nadie más conoce ni elige su clave."
        )
        return [(None, {"fields": fields, "description": description})]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["username", "customer", "last_login", "date_joined"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = CustomerAccountAddForm if obj is None else CustomerAccountChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        plan = form.plan
        # The form ran the same checks; only a simultaneous issuance of the same customer or
        # email fails here, and the admin's transaction then leaves nothing behind.
        result = issue_account(
            plan.customer.number,
            plan.email,
            plan.profile,
            distributor=plan.customer.distributor,
            site=request,
        )
        self.adopt(obj, result.user)
        self.report_issued(request, result.user, result.mail_error)

    def resend(self, request, queryset) -> ResendReport:
        return resend_links(queryset.select_related("customer__distributor"), site=request)
