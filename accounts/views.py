"""Login, registration and password pages; the rest is Django's auth views with our templates."""

from __future__ import annotations

from axes.utils import reset as reset_lockouts
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.views.generic import FormView, TemplateView

from accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    RegistrationForm,
    SetPasswordForm,
    activation_tokens,
    reset_link_days,
)
from accounts.models import User

# The activation link logs the new user in directly; axes' backend only watches passwords.
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def safe_next(request: HttpRequest) -> str:
    """The `next` the request carries, if it points into this site; "" otherwise."""
    target = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def next_or_search(request: HttpRequest) -> str:
    return safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL)


class RegisterView(FormView):
    """The registration page. A valid form always ends on the same "Revise su correo" page,
    whether an account was created or something was already taken; RegistrationForm says
    why and what each case emails."""

    form_class = RegistrationForm
    template_name = "accounts/register.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            return HttpResponseRedirect(next_or_search(request))
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["next"] = self.request.POST.get("next") or self.request.GET.get("next", "")
        return context

    def form_valid(self, form):
        form.register(self.request, next_url=safe_next(self.request))
        return HttpResponseRedirect(reverse("register_done"))


class RegisterDoneView(TemplateView):
    template_name = "accounts/register_done.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "valid_days": reset_link_days()}


class ActivateView(TemplateView):
    """The emailed link. GET shows one button and changes nothing, since mail scanners open
    links and must neither spend the link nor get the session; the POST activates, logs in
    and goes on to the page first asked for (or the search)."""

    template_name = "accounts/activate.html"

    def account(self) -> User | None:
        try:
            pk = urlsafe_base64_decode(self.kwargs["uidb64"]).decode()
            user = User.objects.get(pk=pk, is_active=False)
        except (TypeError, ValueError, OverflowError, User.DoesNotExist):
            return None
        if not activation_tokens.check_token(user, self.kwargs["token"]):
            return None
        return user

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "validlink": self.account() is not None,
            "next": safe_next(self.request),
            "valid_days": reset_link_days(),
        }

    def post(self, request, *args, **kwargs):
        user = self.account()
        if user is None:
            return self.get(request, *args, **kwargs)
        user.is_active = True
        user.save(update_fields=["is_active"])
        login(request, user, backend=LOGIN_BACKEND)
        messages.success(
            request,
            f"Su cuenta «{user.username}» quedó activada. "
            "Ya puede consultar la información de la red.",
        )
        return HttpResponseRedirect(next_or_search(request))


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    @property
    def extra_email_context(self) -> dict:
        return {"valid_days": reset_link_days()}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "valid_days": reset_link_days()}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever proved they own the mailbox may try the new password at once.
        reset_lockouts(username=form.user.get_username())
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = PasswordChangeForm
    template_name = "accounts/password_change_form.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
