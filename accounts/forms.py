"""Forms of the way in: login, self-registration of the public profile (annex §2.2)."""

from __future__ import annotations

import logging

from captcha.conf import settings as captcha_settings
from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from accounts.lib import EXAMPLE, RutError, normalize_rut
from accounts.models import User

logger = logging.getLogger(__name__)

PASSWORD_MISMATCH = "Las dos claves no coinciden."
CAPTCHA_LABEL = "Código de verificación"
CAPTCHA_INVALID = "El código de verificación no coincide. Escriba el de la nueva imagen."
CAPTCHA_REQUIRED = "Escriba el código de verificación."
CAPTCHA_UNAVAILABLE = (
    "No fue posible comprobar el código de verificación. Intente nuevamente en unos minutos."
)


class RutField(forms.CharField):
    """A RUT typed any usual way, cleaned to its stored form ("12345678-5")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("label", "RUT")
        kwargs.setdefault("help_text", f"Con o sin puntos y guion, por ejemplo {EXAMPLE}.")
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return normalize_rut(value)
        except RutError as exc:
            raise ValidationError(str(exc), code="invalid_rut") from exc


class CaptchaImageInput(CaptchaTextInput):
    """The self-hosted captcha with a Spanish description, a sharp image on dense screens, the
    spoken code when the server can synthesise it (CAPTCHA_FLITE_PATH) and a button for another
    image (shown by the page's script).

    Built in Python, not in a template of our own: the default form renderer only looks in the
    apps' template folders.
    """

    template_name = "django/forms/widgets/multiwidget.html"

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        if attrs.get("id") and "aria-describedby" not in attrs:
            # Django leaves multi-widgets to a <fieldset>; ours has a <label>, so point the
            # answer at its help text and error by hand (the ids _field.html gives them).
            described = [f"{attrs['id']}_helptext"]
            if attrs.get("aria-invalid"):
                described.append(f"{attrs['id']}_error")
            attrs["aria-describedby"] = " ".join(described)
        inputs = super().render(name, value, attrs, renderer)  # also draws a new challenge
        audio = self.audio_url()
        return format_html(
            '<div class="captcha-field"><div class="captcha-box">'
            '<img src="{}" srcset="{} 2x" alt="{}" class="captcha">{}'
            '<button type="button" class="button" data-captcha-refresh="{}" hidden>'
            "Otra imagen</button></div>{}"
            '<p class="captcha-status" role="status" aria-live="polite"></p></div>',
            self.image_url(),
            reverse("captcha-image-2x", kwargs={"key": self._key}),
            "Imagen con el código de verificación",
            format_html(' <a href="{}">Escuchar el código</a>', audio) if audio else "",
            self.refresh_url(),
            inputs,
        )


class OfflineCaptchaField(CaptchaField):
    """django-simple-captcha, honouring CAPTCHA_TEST_MODE as the settings say *now*.

    The library copies its settings once at import, so `override_settings` in a test would
    not reach it (either way); the copy is brought in step before every check.
    """

    def clean(self, value):
        captcha_settings.CAPTCHA_TEST_MODE = settings.CAPTCHA_TEST_MODE
        return super().clean(value)


def make_recaptcha_field() -> forms.Field:
    # Imported here: django_recaptcha is only installed when it is the selected backend.
    from django_recaptcha.fields import ReCaptchaField
    from django_recaptcha.widgets import ReCaptchaV2Checkbox

    class PortalReCaptchaField(ReCaptchaField):
        def validate(self, value):
            # The library catches HTTP errors only; no network must not become a server error.
            try:
                super().validate(value)
            except (OSError, ValueError) as exc:
                logger.warning("reCAPTCHA could not be verified: %s", exc)
                raise ValidationError(CAPTCHA_UNAVAILABLE, code="captcha_error") from exc

    return PortalReCaptchaField(
        label=CAPTCHA_LABEL,
        widget=ReCaptchaV2Checkbox(api_params={"hl": "es-419"}),
        error_messages={
            "required": "Marque la casilla «No soy un robot».",
            "captcha_invalid": "No se pudo verificar que usted no es un robot. Intente nuevamente.",
            "captcha_error": CAPTCHA_UNAVAILABLE,
        },
    )


def make_captcha_field() -> forms.Field:
    """The captcha the settings select when the form is built: "simple" (offline) or Google's."""
    backend = settings.CAPTCHA_BACKEND
    if backend == "recaptcha":
        return make_recaptcha_field()
    if backend != "simple":
        raise ValueError(f"CAPTCHA_BACKEND must be 'simple' or 'recaptcha', not {backend!r}")
    return OfflineCaptchaField(
        label=CAPTCHA_LABEL,
        help_text="Escriba los caracteres que aparecen en la imagen (no distingue mayúsculas).",
        widget=CaptchaImageInput(),
        error_messages={
            "invalid": CAPTCHA_INVALID,
            "required": CAPTCHA_REQUIRED,
            "incomplete": CAPTCHA_REQUIRED,
        },
    )


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": (
            "Nombre de usuario o clave incorrectos. Ambos distinguen mayúsculas de minúsculas; "
            "tras varios intentos fallidos el ingreso se bloquea por unos minutos."
        ),
        "inactive": "Esta cuenta está desactivada. Contacte a la empresa distribuidora.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Nombre de usuario"
        self.fields["password"].label = "Clave"


class RegistrationForm(UserCreationForm):
    """Self-registration of the public profile: username, email, RUT, password, captcha."""

    error_messages = {
        **UserCreationForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
    }

    email = forms.EmailField(
        label="Correo electrónico",
        max_length=254,
        help_text="Para recuperar su clave si la olvida.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    rut = RutField()

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email", "rut")

    field_order = ["username", "email", "rut", "password1", "password2", "captcha"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.label = "Nombre de usuario"
        username.help_text = "Hasta 150 caracteres: letras, números y los signos @ . + - _"
        username.error_messages["required"] = "Ingrese un nombre de usuario."
        self.fields["email"].error_messages.update(
            required="Ingrese su correo electrónico.",
            invalid="Ingrese un correo electrónico válido, por ejemplo nombre@empresa.cl.",
        )
        self.fields["rut"].error_messages["required"] = "Ingrese su RUT."
        self.fields["password1"].label = "Clave"
        self.fields["password1"].error_messages["required"] = "Ingrese una clave."
        self.fields["password2"].label = "Confirme la clave"
        self.fields["password2"].help_text = "Escriba la misma clave otra vez."
        self.fields["password2"].error_messages["required"] = "Escriba la clave otra vez."
        self.fields["captcha"] = make_captcha_field()
        self.order_fields(self.field_order)

    def clean_username(self):
        username = self.cleaned_data.get("username")
        if username and User.objects.filter(username__iexact=username).exists():
            raise ValidationError(
                "Ya existe una cuenta con este nombre de usuario. Elija otro.", code="unique"
            )
        return username

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                "Ya existe una cuenta con este correo electrónico. Si es suya, ingrese o "
                "recupere su clave.",
                code="unique",
            )
        return email

    def clean_rut(self):
        rut = self.cleaned_data["rut"]
        if User.objects.filter(rut=rut).exists():
            raise ValidationError("Ya existe una cuenta con este RUT.", code="unique")
        return rut

    def save(self, commit=True):
        user = super().save(commit=False)
        user.profile = User.Profile.PUBLIC
        if commit:
            user.save()
        return user


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Also for the customer accounts the distributor issued whose holder never set a
    password (the first link expired): Django's form skips unusable passwords, which would
    leave them with no way in but a call to the distributor."""

    def get_users(self, email):
        from accounts.models import User

        yield from super().get_users(email)
        issued = User.objects.filter(
            email__iexact=email,
            is_active=True,
            profile__in=[User.Profile.CLIENT, User.Profile.EG],
            last_login__isnull=True,
        )
        for user in issued:
            if not user.has_usable_password():
                yield user

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        email = self.fields["email"]
        email.label = "Correo electrónico"
        email.help_text = "El que usó al registrarse."
        email.error_messages.update(
            required="Ingrese su correo electrónico.",
            invalid="Ingrese un correo electrónico válido, por ejemplo nombre@empresa.cl.",
        )


class SetPasswordForm(auth_forms.SetPasswordForm):
    error_messages = {
        **auth_forms.SetPasswordForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "Clave nueva"
        self.fields["new_password2"].label = "Confirme la clave nueva"
        self.fields["new_password2"].help_text = "Escriba la misma clave otra vez."


class PasswordChangeForm(SetPasswordForm, auth_forms.PasswordChangeForm):
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
        "password_incorrect": "La clave actual no es correcta. Escríbala nuevamente.",
    }
    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Clave actual"
