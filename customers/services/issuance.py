"""Accounts the distributor issues to its customers (annex §4.1) and EG customers (§5.1).

An account is an `accounts.User` of profile client or eg tied to its `network.Customer`:

- username: the customer number, which the customer reads on every bill. When that name is
  taken (the same number at another distributor, or a public user who chose it) it is
  `<number>-<distributor code>`; the email tells the customer which one they got.
- profile: follows the customer's EG flag (eg when `Customer.is_eg`, client otherwise). The
  profile given by staff or the CIS file is a cross-check: a mismatch is refused, never
  corrected silently, because one of the two sources is wrong.
- one account per customer, and an email belongs to one account (compared without case).
- no password is ever chosen by anybody but the customer: the account starts with an unusable
  password and the customer gets a link to the portal's own set-password page. The link, its
  email and the checks every issued account shares (SEC auditors' too) are accounts.issuance's.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.issuance import (
    EMAIL_LOCK_SPACE,
    IssueError,
    ResendReport,
    SiteLike,
    advisory_lock,
    as_site,
    email_in_use,
    normalize_email,
    send_link_email,
    try_send,
)
from accounts.issuance import resend_links as resend_links_of
from accounts.models import User
from customers.models import CUSTOMER_PROFILES, CustomerAccount
from network.models import Customer, Distributor

logger = logging.getLogger(__name__)

SUBJECT_TEMPLATE = "customers/account_issued_subject.txt"
BODY_TEMPLATE = "customers/account_issued_email.txt"

# Columns of the CIS customer list, and the words its `perfil` column may hold.
COLUMNS = ("numero_cliente", "email", "perfil")
PROFILE_WORDS = {
    "cliente": User.Profile.CLIENT,
    "client": User.Profile.CLIENT,
    "eg": User.Profile.EG,
}
# What each field of the service is called in the file, for the report.
FIELD_COLUMNS = {"customer_number": "numero_cliente", "email": "email", "profile": "perfil"}


class Outcome(StrEnum):
    ISSUED = "issued"
    EXISTING = "existing"
    # Already issued, and the profile followed the customer's EG flag that changed since.
    UPDATED = "updated"


class CustomerFileError(Exception):
    """The file as a whole cannot be read (encoding, header)."""


@dataclass
class IssueResult:
    user: User | None  # None on a dry run of a new account
    outcome: Outcome
    customer: Customer
    mailed: bool = False
    mail_error: str = ""
    dry_run: bool = False


@dataclass
class Plan:
    """What an issuance would do, every check passed."""

    customer: Customer
    email: str
    profile: str
    username: str
    existing: User | None


# --- Checks ------------------------------------------------------------------------------------


def parse_profile(value: str) -> str:
    profile = PROFILE_WORDS.get((value or "").strip().lower())
    if profile is None:
        shown = value.strip() if value else ""
        raise IssueError(
            "profile",
            f"Perfil «{shown}» no válido: use cliente o eg." if shown else "Falta el perfil.",
        )
    return profile


def find_customer(
    number: str, distributor: Distributor | None = None, *, lock: bool = False
) -> Customer:
    number = (number or "").strip()
    if not number:
        raise IssueError("customer_number", "Falta el número de cliente.")
    customers = Customer.objects.filter(number=number).select_related("distributor")
    if distributor is not None:
        customers = customers.filter(distributor=distributor)
    if lock:
        # One issuance per customer at a time, so the one-account-per-customer check holds;
        # the customer row only, or every issuance of a distributor would queue on its row.
        customers = customers.select_for_update(of=("self",))
    found = list(customers[:2])
    if not found:
        where = f" en {distributor.code}" if distributor is not None else ""
        raise IssueError("customer_number", f"No existe un cliente con el número {number}{where}.")
    if len(found) > 1:
        codes = ", ".join(
            Customer.objects.filter(number=number)
            .order_by("distributor__code")
            .values_list("distributor__code", flat=True)
        )
        raise IssueError(
            "customer_number",
            f"El número de cliente {number} existe en varias distribuidoras ({codes}): "
            "indique la distribuidora.",
        )
    return found[0]


def check_profile(customer: Customer, profile: str) -> None:
    if profile == User.Profile.EG and not customer.is_eg:
        raise IssueError(
            "profile",
            f"El cliente {customer.number} no tiene generación (EG): su cuenta es de perfil "
            "cliente.",
        )
    if profile == User.Profile.CLIENT and customer.is_eg:
        raise IssueError(
            "profile",
            f"El cliente {customer.number} tiene generación (EG): su cuenta es de perfil eg.",
        )


def username_for(customer: Customer) -> str:
    """The customer number, or `<number>-<distributor code>` when the number is taken."""
    for candidate in (customer.number, f"{customer.number}-{customer.distributor.code}"):
        try:
            User.username_validator(candidate)
        except ValidationError as exc:
            raise IssueError(
                "customer_number",
                f"El número de cliente {customer.number} no sirve como nombre de usuario "
                "(solo letras, números y @ . + - _).",
            ) from exc
        # Case-insensitive, as the registration form checks: never two names differing in case.
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    raise IssueError(
        "customer_number",
        f"Los nombres de usuario {customer.number} y {candidate} ya están ocupados por otras "
        "cuentas.",
    )


def plan_account(
    customer_number: str,
    email: str,
    profile: str,
    *,
    distributor: Distributor | None = None,
    lock: bool = False,
) -> Plan:
    """Run every check of an issuance; raise IssueError on the first that fails."""
    profile = parse_profile(profile)
    email = normalize_email(email)
    customer = find_customer(customer_number, distributor, lock=lock)
    if lock:
        advisory_lock(EMAIL_LOCK_SPACE, email)
    existing = User.objects.filter(customer=customer).order_by("pk").first()
    if existing is not None and existing.email.lower() != email.lower():
        raise IssueError(
            "email",
            f"El cliente {customer.number} ya tiene una cuenta (usuario {existing.username}) "
            "con otro correo; si cambió, corríjalo en esa cuenta.",
        )
    if existing is not None and existing.profile not in CUSTOMER_PROFILES:
        raise IssueError(
            "customer_number",
            f"El cliente {customer.number} está ligado a la cuenta {existing.username}, que no "
            "es de cliente.",
        )
    check_profile(customer, profile)
    if email_in_use(email, exclude=existing):
        raise IssueError("email", f"El correo {email} ya está en uso por otra cuenta.")
    username = existing.username if existing is not None else username_for(customer)
    return Plan(customer, email, profile, username, existing)


# --- Issuance ----------------------------------------------------------------------------------


def issue_account(
    customer_number: str,
    email: str,
    profile: str,
    *,
    distributor: Distributor | None = None,
    site: SiteLike = None,
    resend: bool = False,
    dry_run: bool = False,
) -> IssueResult:
    """Issue the customer's account and email them the link to set their password.

    Idempotent: an account of the same customer with the same email is reported as existing
    (its profile brought in line with the customer's EG flag) and gets no email, unless
    `resend` and its password is still undefined. Raises IssueError when a check fails.
    `profile` is "client"/"eg" or a word of the file ("cliente").
    """
    with transaction.atomic():
        plan = plan_account(customer_number, email, profile, distributor=distributor, lock=True)
        user = plan.existing
        if user is not None:
            outcome = Outcome.EXISTING if user.profile == plan.profile else Outcome.UPDATED
            if outcome == Outcome.UPDATED and not dry_run:
                user.profile = plan.profile
                user.save(update_fields=["profile"])
            mail = resend and user.is_active and not user.has_usable_password()
        else:
            outcome, mail = Outcome.ISSUED, True
            if not dry_run:
                user = create_account(plan)
    result = IssueResult(user, outcome, plan.customer, dry_run=dry_run)
    if mail and not dry_run:
        # After the account's own transaction: a mail server that fails keeps the account,
        # which a resend reaches later (the file's --reenviar, the admin action).
        result.mail_error = try_send(send_set_password_link, user, site)
        result.mailed = not result.mail_error
    return result


def create_account(plan: Plan) -> User:
    user = CustomerAccount(
        username=plan.username,
        email=plan.email,
        profile=plan.profile,
        customer=plan.customer,
    )
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # Another issuance took the username between the check and the insert.
        raise IssueError(
            "customer_number", f"El nombre de usuario {plan.username} acaba de ser ocupado."
        ) from exc
    logger.info("customer account %s issued for customer %s", user.pk, plan.customer.pk)
    return user


def send_set_password_link(user: User, *, site: SiteLike = None) -> None:
    """Email the customer the link to the set-password page; the email carries no password."""
    customer = user.customer
    context = {
        "customer_number": customer.number if customer else "",
        "distributor": customer.distributor.name if customer else "",
        "eg": user.profile == User.Profile.EG,
    }
    send_link_email(
        user,
        subject_template=SUBJECT_TEMPLATE,
        body_template=BODY_TEMPLATE,
        site=site,
        context=context,
    )


def resend_links(users: Iterable[User], *, site: SiteLike = None) -> ResendReport:
    """Send the set-password link again to each active customer account."""
    return resend_links_of(users, send=send_set_password_link, site=site)


# --- The CIS file ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    line: int
    column: str
    message: str


@dataclass
class FileReport:
    source: str
    dry_run: bool = False
    issued: list[IssueResult] = field(default_factory=list)
    existing: list[IssueResult] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    # Accounts issued (or due a resend) whose email did not go: (line, message).
    unsent: list[tuple[int, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.refused or self.unsent)

    def problems(self) -> list[str]:
        lines = [
            (r.line, f"{self.source}, línea {r.line}, {r.column}: {r.message}")
            for r in self.refused
        ]
        lines += [
            (line, f"{self.source}, línea {line}, email: {message} (reintente con --reenviar)")
            for line, message in self.unsent
        ]
        return [text for _, text in sorted(lines)]

    def summary(self) -> str:
        updated = sum(r.outcome == Outcome.UPDATED for r in self.existing)
        verb = "se emitirían" if self.dry_run else "emitidas"
        text = (
            f"{self.source}: {len(self.issued)} {verb}, {len(self.existing)} ya emitidas"
            + (f" ({updated} con perfil actualizado)" if updated else "")
            + f", {len(self.refused)} rechazadas"
        )
        if self.unsent:
            text += f", {len(self.unsent)} correos no enviados"
        return text + (" (simulación: no se guardó ni envió nada)." if self.dry_run else ".")


@dataclass(frozen=True)
class Row:
    line: int
    number: str
    email: str
    profile: str


def read_rows(source: str | Path | IO) -> list[Row]:
    """The file's rows, with their line numbers; UTF-8 with or without BOM, `;` or `,`."""
    if isinstance(source, (str, Path)):
        with open(source, "rb") as handle:
            raw = handle.read()
    else:
        raw = source.read()
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CustomerFileError(
                f"no está en UTF-8 (byte no válido en la posición {exc.start})"
            ) from exc
    else:
        text = raw.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    columns = [name.strip().lower() for name in header or []]
    missing = [name for name in COLUMNS if name not in columns]
    if missing:
        raise CustomerFileError(
            f"faltan las columnas {', '.join(missing)} en el encabezado "
            f"(se esperan {','.join(COLUMNS)})"
        )
    where = {name: columns.index(name) for name in COLUMNS}
    rows = []
    try:
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            cells = [
                values[where[name]].strip() if where[name] < len(values) else "" for name in COLUMNS
            ]
            rows.append(Row(reader.line_num, *cells))
    except csv.Error as exc:
        raise CustomerFileError(
            f"línea {reader.line_num}: no se puede leer como CSV ({exc})"
        ) from exc
    return rows


def in_file_conflicts(rows: Iterable[Row]) -> dict[int, Refusal]:
    """Refusals for the file's own contradictions, by line.

    An email given to two customers, or a customer given two emails: the file does not say
    which is right, so every line of the group is refused. A line repeated as is: the first
    stands, the repeats are refused.
    """
    by_email: dict[str, list[Row]] = defaultdict(list)
    by_number: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        if row.email:
            by_email[row.email.lower()].append(row)
        if row.number:
            by_number[row.number].append(row)
    refused: dict[int, Refusal] = {}

    def lines_of(group: list[Row], but: Row) -> str:
        return ", ".join(str(r.line) for r in group if r is not but)

    for group in by_email.values():
        if len({r.number for r in group}) > 1:
            for row in group:
                refused[row.line] = Refusal(
                    row.line,
                    "email",
                    f"El correo {row.email} se repite en la(s) línea(s) "
                    f"{lines_of(group, row)} para otro cliente.",
                )
    for group in by_number.values():
        if len({r.email.lower() for r in group}) > 1:
            for row in group:
                refused.setdefault(
                    row.line,
                    Refusal(
                        row.line,
                        "numero_cliente",
                        f"El cliente {row.number} se repite en la(s) línea(s) "
                        f"{lines_of(group, row)} con otro correo.",
                    ),
                )
        else:
            for row in group[1:]:
                refused.setdefault(
                    row.line,
                    Refusal(
                        row.line,
                        "numero_cliente",
                        f"Línea repetida: el cliente {row.number} ya está en la línea "
                        f"{group[0].line}.",
                    ),
                )
    return refused


def issue_from_csv(
    source: str | Path | IO,
    *,
    distributor: Distributor | None = None,
    site: SiteLike = None,
    resend: bool = False,
    dry_run: bool = False,
    name: str | None = None,
    progress: Callable[[Iterable[Row]], Iterable[Row]] | None = None,
) -> FileReport:
    """Issue an account per line of the CIS customer list (`numero_cliente,email,perfil`).

    Every line stands alone: its own transaction, so a refused or failing line never takes
    the others with it. Raises CustomerFileError when the file cannot be read as such a list;
    OSError when it cannot be opened.
    """
    site = as_site(site)
    rows = read_rows(source)
    report = FileReport(name or _source_name(source), dry_run=dry_run)
    conflicts = in_file_conflicts(rows)
    for row in progress(rows) if progress else rows:
        if row.line in conflicts:
            report.refused.append(conflicts[row.line])
            continue
        try:
            result = issue_account(
                row.number,
                row.email,
                row.profile,
                distributor=distributor,
                site=site,
                resend=resend,
                dry_run=dry_run,
            )
        except IssueError as exc:
            column = FIELD_COLUMNS.get(exc.field, exc.field)
            report.refused.append(Refusal(row.line, column, exc.message))
            continue
        (report.issued if result.outcome == Outcome.ISSUED else report.existing).append(result)
        if result.mail_error:
            report.unsent.append((row.line, result.mail_error))
    return report


def _source_name(source: str | Path | IO) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return Path(getattr(source, "name", "") or "archivo").name
