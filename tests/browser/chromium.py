"""What every browser test shares: Debian's Chromium, offline, and the page's watchers."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def csp_refusal(text: str) -> bool:
    return text.startswith("Refused to") or "Content Security Policy" in text


def watch(page, base_url: str) -> tuple[list[str], list[str]]:
    """(requests that tried to leave the test server, Content-Security-Policy refusals):
    pages must work offline and under the policy; the tests assert both lists stay empty."""
    outside: list[str] = []
    refused: list[str] = []

    def only_local(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on(
        "console",
        lambda message: refused.append(message.text) if csp_refusal(message.text) else None,
    )
    return outside, refused
