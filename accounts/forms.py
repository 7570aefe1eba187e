"""Forms of the way in: login, self-registration of the public profile (annex §2.2)."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from urllib.parse import urlencode

from captcha.conf import settings as captcha_settings
from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.html import format_html
from django.utils.http import urlsafe_base64_encode

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


class RegistrationForm(BaseUserCreationForm):
    """Self-registration of the public profile: username, email, RUT, password, captcha.

    The form says nothing about accounts that already exist: it checks only the format of
    what was typed (and the captcha), so a failed captcha shows those errors and no other.
    Whether the username, email or RUT is taken is decided by `register` once the whole form
    is valid, and answered by email, never on the page:

    - all three free: an inactive account is created and its address gets the activation
      link (`activation_email.txt`); the first login happens through that link;
    - the email belongs to an account: nothing is created; that address (the owner's) is told
      someone tried to register with it, with the way to log in or reset the password, or the
      activation link again if that account was never activated (`attempt_email.txt`);
    - the email is new but the username or RUT is taken: nothing is created; the new address
      is told which one is in use (`unavailable_email.txt`), and an account holding the RUT
      is told at its own address that someone tried to register with it.

    The page is the same "Revise su correo" in every case. What remains visible is the
    mailbox: whoever controls the new address learns that the username or RUT is in use.
    That cannot be avoided (they must be told why no account was made, and a username has to
    be unique), but each probe costs a solved captcha and a round trip through a mailbox, and
    a RUT's owner hears of every attempt with it; a username says little about anyone. Every
    branch hashes the password, runs the same queries bar the insert and sends mail, so the
    response time does not tell the cases apart either (a RUT collision sends one message
    more, on the same connection).

    A registration not activated within the link's validity (PASSWORD_RESET_TIMEOUT) lapses:
    the next registration that meets its username, email or RUT deletes it, so a mistyped
    address holds nothing for long.
    """

    error_messages = {
        **BaseUserCreationForm.error_messages,
        "password_mismatch": PASSWORD_MISMATCH,
    }

    email = forms.EmailField(
        label="Correo electrónico",
        max_length=254,
        help_text="Le enviaremos un enlace para activar la cuenta; también sirve para recuperar "
        "su clave si la olvida.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    rut = RutField()

    class Meta(BaseUserCreationForm.Meta):
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

    def clean_email(self):
        return User.objects.normalize_email(self.cleaned_data["email"])

    def validate_unique(self):
        # The model's unique username and RUT would be reported on the page ("ya existe"),
        # captcha or not: `register` decides about taken values, by email.
        pass

    def save(self, commit=True):
        user = super().save(commit=False)  # hashes the password
        user.profile = User.Profile.PUBLIC
        user.is_active = False  # until the emailed link is opened
        if commit:
            user.save()
        return user

    def register(self, request: HttpRequest, next_url: str = "") -> User | None:
        """Create the account if its username, email and RUT are all free, and send the mail
        each case calls for (see the class); the new user, or None when something was taken.

        `next_url` (already checked as ours) rides on the activation link."""
        user = self.save(commit=False)  # in every case: the hash is most of the time spent
        with transaction.atomic():
            awaiting_activation().filter(holding(user), date_joined__lt=lapse_cutoff()).delete()
            holders = holders_of(user)
            if not holders:
                try:
                    with transaction.atomic():
                        user.save()
                except IntegrityError:
                    # Another registration took the username or RUT between look and insert.
                    holders = holders_of(user)
                    user.pk = None
        created = user.pk is not None
        mails = RegistrationMails(request, user, next_url)
        send_quietly(mails.new_account() if created else mails.taken(holders))
        if created:
            logger.info("public account %s registered, awaiting activation", user.pk)
            return user
        return None


def holding(user: User) -> Q:
    """The accounts that hold `user`'s username, email or RUT (usernames and emails in any
    case, as login and password reset match them)."""
    return Q(username__iexact=user.username) | Q(email__iexact=user.email) | Q(rut=user.rut)


def holders_of(user: User) -> list[User]:
    return list(User.objects.filter(holding(user)))


def awaiting_activation() -> QuerySet[User]:
    """Self-registered accounts whose activation link was never opened. An account the
    distributor deactivated has logged in before (or is no public one), so it is not here."""
    return User.objects.filter(
        is_active=False,
        profile=User.Profile.PUBLIC,
        last_login__isnull=True,
        accesses__isnull=True,
    )


def is_awaiting_activation(user: User) -> bool:
    # The same test as awaiting_activation() on a loaded row (it cannot have accesses
    # without a login).
    return not user.is_active and user.is_public and user.last_login is None


def lapse_cutoff() -> datetime:
    return timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)


def reset_link_days() -> int:
    """How long a password reset or activation link lasts, in whole days (at least one)."""
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86_400)


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """The activation link's token: a salt of its own, so a password reset link never
    activates an account nor the reverse, and void once the account is active (the login
    that follows changes last_login as well)."""

    key_salt = "accounts.forms.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


activation_tokens = ActivationTokenGenerator()


class RegistrationMails:
    """The messages one registration sends, rendered from templates/accounts/*_email.txt."""

    def __init__(self, request: HttpRequest, user: User, next_url: str = "") -> None:
        self.request = request
        self.user = user
        self.next_url = next_url

    def url(self, name: str, **kwargs) -> str:
        return self.request.build_absolute_uri(reverse(name, kwargs=kwargs or None))

    def activation_url(self, user: User) -> str:
        url = self.url(
            "activate",
            uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
            token=activation_tokens.make_token(user),
        )
        return f"{url}?{urlencode({'next': self.next_url})}" if self.next_url else url

    def message(self, name: str, to: str, **context) -> EmailMessage:
        context = {
            "domain": self.request.get_host(),
            "login_url": self.url("login"),
            "reset_url": self.url("password_reset"),
            "register_url": self.url("register"),
            "valid_days": reset_link_days(),
            **context,
        }
        # A header with a newline is refused by the mail library: the subject is one line.
        subject = "".join(render_to_string(f"accounts/{name}_subject.txt", context).splitlines())
        body = render_to_string(f"accounts/{name}_email.txt", context)
        return EmailMessage(subject, body, None, [to])

    def new_account(self) -> list[EmailMessage]:
        user = self.user
        return [
            self.message(
                "activation", user.email, user=user, activation_url=self.activation_url(user)
            )
        ]

    def taken(self, holders: list[User]) -> list[EmailMessage]:
        email = self.user.email.upper()
        by_email = [h for h in holders if h.email.upper() == email]
        if by_email:
            pending = [
                (h.get_username(), self.activation_url(h))
                for h in by_email
                if is_awaiting_activation(h)
            ]
            # To the address as the owner gave it (the typed one may differ in case only).
            owner = by_email[0].email
            mails = [self.message("attempt", owner, by_rut=False, pending=pending)]
        else:
            mails = [
                self.message(
                    "unavailable",
                    self.user.email,
                    username=self.user.username,
                    username_taken=any(
                        h.username.upper() == self.user.username.upper() for h in holders
                    ),
                    rut_taken=any(h.rut == self.user.rut for h in holders),
                )
            ]
        # The RUT's holder hears of it at their own address (unless that is the one typed).
        mails += [
            self.message("attempt", h.email, by_rut=True, pending=[])
            for h in holders
            if h.rut == self.user.rut and h.email and h.email.upper() != email
        ]
        return mails


def send_quietly(mails: list[EmailMessage]) -> None:
    """Send on one connection; a mail server down must not answer differently (an error
    page in one case only) nor lose the account: the person registers again for a new link."""
    try:
        get_connection().send_messages(mails)
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("registration email not sent: %s", exc)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Also for the customer and SEC accounts the distributor issued whose holder never set a
    password (the first link expired): Django's form skips unusable passwords, which would
    leave them with no way in but a call to the distributor."""

    def get_users(self, email):
        from accounts.models import User

        yield from super().get_users(email)
        issued = User.objects.filter(
            email__iexact=email,
            is_active=True,
            profile__in=[User.Profile.CLIENT, User.Profile.EG, User.Profile.SEC],
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
