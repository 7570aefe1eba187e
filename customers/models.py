"""Customers' own accounts (annex §4.1, §5.1): users of the client and eg profiles.

They are `accounts.User` rows; the proxy only gives customer service a list and an add form of
their own in the admin, apart from staff, SEC and public accounts, with permissions of its own.
"""

from __future__ import annotations

from django.contrib.auth.models import UserManager

from accounts.models import User

CUSTOMER_PROFILES = (User.Profile.CLIENT, User.Profile.EG)


class CustomerAccountManager(UserManager):
    # The admin reads through the default manager: with this one, a change URL of a staff or
    # SEC account under the proxy finds nothing, so customer service can never edit those.
    use_in_migrations = False

    def get_queryset(self):
        return super().get_queryset().filter(profile__in=CUSTOMER_PROFILES)


class CustomerAccount(User):
    objects = CustomerAccountManager()

    class Meta:
        proxy = True
        verbose_name = "cuenta de cliente"
        verbose_name_plural = "cuentas de clientes"

    @property
    def customer_number(self) -> str:
        return self.customer.number if self.customer_id else ""
