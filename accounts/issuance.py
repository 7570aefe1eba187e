"""Accounts the distributor issues instead of letting people register: SEC auditors' (§3)
here, customers' (§4.1, §5.1) in customers.services.issuance on top of the same parts.

An issued account starts with an unusable password and its holder gets an email with a link to
the portal's own set-password page (`password_reset_confirm`, Django's
`default_token_generator`): no password is ever chosen by anybody but the holder, and nothing
here logs the link. An email belongs to one account, compared without case.

An SEC account is an `accounts.User` of profile sec, never staff: the admin's *Cuentas SEC*
(accounts.SecAccount) and `manage.py issue_sec_account` issue it.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.forms import reset_link_days
from accounts.models import SecAccount, User

logger = logging.getLogger(__name__)

SEC_SUBJECT_TEMPLATE = "accounts/sec_account_issued_subject.txt"
SEC_BODY_TEMPLATE = "accounts/sec_account_issued_email.txt"

# First keys of the advisory locks taken per email and per username (the second key is the
# value's hash): users have no unique index on lower(email) nor lower(username), so two
# issuances of one address or one name must queue here instead.
EMAIL_LOCK_SPACE = 4_110_001
USERNAME_LOCK_SPACE = 4_110_002

# What a mail server that fails raises; the account stays and a resend reaches it later.
MAIL_ERRORS = (smtplib.SMTPException, OSError)


class IssueError(Exception):
    """An account that cannot be issued: `field` names the form field at fault (username,
    email, customer_number...); the message is for staff, in Spanish."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- Where the links point ---------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """Where the links in the emails point."""

    domain: str
    protocol: str = "https"

    @classmethod
    def from_request(cls, request: HttpRequest) -> Site:
        return cls(get_current_site(request).domain, "https" if request.is_secure() else "http")

    @classmethod
    def parse(cls, value: str) -> Site:
        """Read "portal.example.cl" (https) or a URL's start such as "http://localhost:8000"."""
        value = value.strip().rstrip("/")
        protocol, sep, domain = value.partition("://")
        if not sep:
            protocol, domain = "https", value
        if protocol not in ("http", "https") or not domain or "/" in domain:
            raise ValueError(f"«{value}» no es un dominio, p. ej. portal.example.cl")
        return cls(domain, protocol)

    @classmethod
    def default(cls) -> Site:
        """The first concrete host the settings serve; plain http only while DEBUG is on."""
        hosts = [h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")]
        return cls(hosts[0] if hosts else "localhost", "http" if settings.DEBUG else "https")


SiteLike = Site | HttpRequest | str | None


def as_site(site: SiteLike) -> Site:
    if isinstance(site, Site):
        return site
    if isinstance(site, HttpRequest):
        return Site.from_request(site)
    return Site.parse(site) if site else Site.default()


# --- Checks shared by every kind of issued account ---------------------------------------------


def normalize_email(value: str) -> str:
    email = User.objects.normalize_email((value or "").strip())
    if not email:
        raise IssueError("email", "Falta el correo electrónico.")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise IssueError("email", f"«{email}» no es un correo electrónico válido.") from exc
    return email


def email_in_use(email: str, *, exclude: User | None = None) -> bool:
    others = User.objects.filter(email__iexact=email)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return others.exists()


def advisory_lock(space: int, value: str) -> None:
    """Queue, until the transaction ends, behind any other holding `value` (case-insensitive)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [space, value.lower()])


# --- The email with the link -------------------------------------------------------------------

LinkSender = Callable[..., None]  # (user, *, site) -> None, raising one of MAIL_ERRORS


def send_link_email(
    user: User,
    *,
    subject_template: str,
    body_template: str,
    site: SiteLike = None,
    context: dict | None = None,
) -> None:
    """Email `user` the link to the set-password page; the email carries no password.

    The templates get the user, the link's parts (protocol, domain, uid, token), how many days
    it lasts (valid_days), and `context`."""
    site = as_site(site)
    context = {
        "user": user,
        "domain": site.domain,
        "protocol": site.protocol,
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
        "valid_days": reset_link_days(),
        **(context or {}),
    }
    # The subject must be one line: a header with a newline is refused by the mail library.
    subject = "".join(render_to_string(subject_template, context).splitlines())
    body = render_to_string(body_template, context)
    send_mail(subject, body, None, [user.email])


def try_send(send: LinkSender, user: User, site: SiteLike) -> str:
    """Send the link; "" when it went, the reason for staff (in Spanish) when it did not."""
    try:
        send(user, site=site)
    except MAIL_ERRORS as exc:
        logger.warning("set-password email to account %s not sent: %s", user.pk, exc)
        return f"No se pudo enviar el correo: {exc}"
    return ""


@dataclass
class ResendReport:
    sent: int = 0
    inactive: list[str] = field(default_factory=list)  # usernames
    failed: list[str] = field(default_factory=list)


def resend_links(users: Iterable[User], *, send: LinkSender, site: SiteLike = None) -> ResendReport:
    """Send the set-password link again to each active account (inactive ones are skipped:
    the link would lead to a login that refuses them)."""
    site = as_site(site)
    report = ResendReport()
    for user in users:
        if not user.is_active:
            report.inactive.append(user.username)
        elif try_send(send, user, site):
            report.failed.append(user.username)
        else:
            report.sent += 1
    return report


# --- SEC auditors' accounts --------------------------------------------------------------------


@dataclass(frozen=True)
class SecPlan:
    """What an SEC issuance would do, every check passed."""

    username: str
    email: str
    first_name: str
    last_name: str
    existing: User | None


@dataclass
class SecIssueResult:
    user: User
    created: bool
    mailed: bool = False
    mail_error: str = ""


def split_name(full_name: str) -> tuple[str, str]:
    """("Nombre", "Apellidos") from "Nombre Apellidos": the first word, then the rest."""
    first, _, last = " ".join((full_name or "").split()).partition(" ")
    return first, last


def check_username(value: str) -> str:
    username = (value or "").strip()
    if not username:
        raise IssueError("username", "Falta el nombre de usuario.")
    limit = User._meta.get_field("username").max_length
    if len(username) > limit:
        raise IssueError("username", f"El nombre de usuario tiene más de {limit} caracteres.")
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise IssueError(
            "username",
            f"«{username}» no sirve como nombre de usuario (solo letras, números y @ . + - _).",
        ) from exc
    return username


NAME_LABELS = {"first_name": "nombre", "last_name": "apellido"}


def check_name(field_name: str, value: str) -> str:
    value = " ".join((value or "").split())
    limit = User._meta.get_field(field_name).max_length
    if len(value) > limit:
        label = NAME_LABELS[field_name]
        raise IssueError(field_name, f"El {label} tiene más de {limit} caracteres.")
    return value


def plan_sec_account(
    username: str, email: str, first_name: str = "", last_name: str = "", *, lock: bool = False
) -> SecPlan:
    """Run every check of an SEC issuance; raise IssueError on the first that fails.

    An SEC account of that username (whatever its case) and that email is the one asked for:
    the plan names it as existing."""
    username = check_username(username)
    email = normalize_email(email)
    first_name = check_name("first_name", first_name)
    last_name = check_name("last_name", last_name)
    if lock:
        advisory_lock(USERNAME_LOCK_SPACE, username)
        advisory_lock(EMAIL_LOCK_SPACE, email)
    # Case-insensitive, as the registration form checks: never two names differing in case.
    holder = User.objects.filter(username__iexact=username).order_by("pk").first()
    existing = None
    if holder is not None:
        if not SecAccount.objects.filter(pk=holder.pk).exists():
            raise IssueError(
                "username", f"El nombre de usuario {username} ya está ocupado por otra cuenta."
            )
        if holder.email.lower() != email.lower():
            raise IssueError(
                "email",
                f"La cuenta SEC {holder.username} ya existe con otro correo; si cambió, "
                "corríjalo en esa cuenta.",
            )
        existing = holder
    if email_in_use(email, exclude=existing):
        raise IssueError("email", f"El correo {email} ya está en uso por otra cuenta.")
    return SecPlan(
        existing.username if existing else username, email, first_name, last_name, existing
    )


def send_sec_link(user: User, *, site: SiteLike = None) -> None:
    """Email an SEC auditor the link to define their password."""
    send_link_email(
        user, subject_template=SEC_SUBJECT_TEMPLATE, body_template=SEC_BODY_TEMPLATE, site=site
    )


def resend_sec_links(users: Iterable[User], *, site: SiteLike = None) -> ResendReport:
    return resend_links(users, send=send_sec_link, site=site)


def issue_sec_account(
    username: str,
    email: str,
    *,
    first_name: str = "",
    last_name: str = "",
    site: SiteLike = None,
    resend: bool = False,
) -> SecIssueResult:
    """Issue an SEC auditor's account and email them the link to set their password.

    Idempotent: the SEC account of that username and email is reported as existing, unchanged,
    and gets no email unless `resend`, it is active and its password is still undefined.
    Raises IssueError when a check fails."""
    with transaction.atomic():
        plan = plan_sec_account(username, email, first_name, last_name, lock=True)
        if plan.existing is not None:
            user = plan.existing
            result = SecIssueResult(user, created=False)
            mail = resend and user.is_active and not user.has_usable_password()
        else:
            user = create_sec_account(plan)
            result, mail = SecIssueResult(user, created=True), True
    if mail:
        # After the account's own transaction: a mail server that fails keeps the account,
        # which a resend reaches later (the command's --reenviar, the admin action).
        result.mail_error = try_send(send_sec_link, user, site)
        result.mailed = not result.mail_error
    return result


def create_sec_account(plan: SecPlan) -> SecAccount:
    user = SecAccount(
        username=plan.username,
        email=plan.email,
        first_name=plan.first_name,
        last_name=plan.last_name,
        profile=User.Profile.SEC,
        is_staff=False,
        is_superuser=False,
    )
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Another issuance took the username between the check and the insert.
        raise IssueError(
            "username", f"El nombre de usuario {plan.username} acaba de ser ocupado."
        ) from exc
    logger.info("SEC account %s issued", user.pk)
    return user
