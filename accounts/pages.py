"""The base of every page that shows network or personal data: login required, the view
written to the access log, IMPRIMIR and GUARDAR (`?formato=pdf`, the same template rendered as
a PDF on the server)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.views.generic import TemplateView

from accounts import services
from core import pdf


def log_access(request: HttpRequest, kind: str, reference: str = "") -> None:
    """The access log row of a page; a PDF download says so in its reference."""
    services.log_access(request, kind, reference + (" (PDF)" if pdf.wants_pdf(request) else ""))


class PortalPage(LoginRequiredMixin, TemplateView):
    """A page of network data: login, access log, IMPRIMIR and GUARDAR."""

    access_kind = ""
    pdf_name = "pagina"
    page_title = ""

    def handle_no_permission(self):
        return redirect_to_login(self.request.get_full_path())

    def reference(self) -> str:
        return ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["printable"] = True
        context["pdf"] = False
        context["breadcrumb"] = [(self.page_title, "")] if self.page_title else []
        return context

    def render_to_response(self, context, **response_kwargs):
        if self.access_kind:
            log_access(self.request, self.access_kind, self.reference())
        if pdf.wants_pdf(self.request):
            return pdf.render_pdf(
                self.request, self.template_name, context, context.get("pdf_name", self.pdf_name)
            )
        return super().render_to_response(context, **response_kwargs)
