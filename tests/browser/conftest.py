"""Browser tests: Playwright's sync API drives Debian's chromium against the live test server.

Nothing leaves the machine: every request whose host is not the live server's is aborted.
"""

import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

from yulan.core.management.commands.demo import DEMO_PASSWORD

# Playwright's sync API keeps an event loop running in this thread from the browser's launch to
# the end of the session; without this Django refuses ORM calls made meanwhile in this thread
# (fixtures here, and tests elsewhere that run while the session-wide browser is open).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: run make browser-deps")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo(transactional_db) -> None:
    call_command("demo", stdout=io.StringIO())


def _keep_local(context: BrowserContext, live_url: str) -> None:
    """Abort every request to a host other than the live server's (map tiles included)."""
    local = urlsplit(live_url).netloc

    def handle(route: Route) -> None:
        if urlsplit(route.request.url).netloc == local:
            route.continue_()
        else:
            route.abort()

    context.route("**/*", handle)


@pytest.fixture
def new_context(browser, live_server) -> Iterator[Callable[..., BrowserContext]]:
    """Make a browser context (closed after the test) that can only reach the live server."""
    contexts = []

    def make(**options) -> BrowserContext:
        options.setdefault("base_url", live_server.url)
        options.setdefault("locale", "en-GB")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        _keep_local(context, live_server.url)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught errors of the test's pages, filled as they happen."""
    return []


@pytest.fixture
def page(new_context, page_errors) -> Iterator[Page]:
    """A page in a fresh context. At the end, no script may have failed and no stylesheet, script
    or image of the site may have been missing."""
    page = new_context().new_page()
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    broken: list[str] = []
    page.on(
        "response",
        lambda r: (
            broken.append(f"{r.status} {r.url}") if r.status >= 400 and r.request.resource_type != "document" else None
        ),
    )
    yield page
    assert not page_errors, f"uncaught errors in the page: {page_errors}"
    assert not broken, f"the site failed to serve: {broken}"


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run make browser-deps")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture
def assert_accessible(axe_source) -> Callable[[Page], None]:
    """Run axe-core (WCAG 2.1 A and AA rules) on the page; fail on serious or critical violations."""

    def check(page: Page) -> None:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(content=axe_source)
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            AXE_TAGS,
        )
        bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
        report = "\n".join(
            f"- {v['id']} ({v['impact']}): {v['help']}\n    "
            + "\n    ".join(", ".join(map(str, node["target"])) for node in v["nodes"])
            for v in bad
        )
        assert not bad, f"Accessibility violations on {page.url}:\n{report}"

    return check


@pytest.fixture
def sign_in() -> Callable[[Page, str], None]:
    """Sign in through the real form, with e-mail and password."""

    def do(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
        page.goto("/en/accounts/login/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.locator("main form button[type=submit]").first.click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))

    return do
