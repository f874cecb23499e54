"""`invoke screenshot`: the Phoenix UI as a user sees it, Debian's chromium driven by Selenium, offline.

`take_screenshot(settings, path)` writes the trace view for the README; the browser helpers here serve the
UI check (`nox -s ui`, tools/ui_check.py) too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stackkit.core.errors import OperationFailed
from stackkit.core.settings import Settings
from stackkit.phoenix.api import PhoenixClient, phoenix_client

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = "1600,1000"
RENDER_TIMEOUT_S = 30.0
# The demo's span tree under its root (services/ai-demo: chain.py, providers.py, tools.py).
TREE = ("chat", "plan", "get_weather", "synthesize")


class UiCheckFailed(OperationFailed):
    """The Phoenix UI did not show what the check expected (or cannot be driven here)."""


@contextmanager
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for program in (CHROMIUM, CHROMEDRIVER):
        if not Path(program).exists():
            raise UiCheckFailed(f"{program} is missing: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={WINDOW}"):
        options.add_argument(argument)  # --no-sandbox: needed when running as root
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def page_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def wait_for(driver: Any, what: str, ready: Callable[[str], bool]) -> str:
    """The page's text once `ready` holds for it (the UI is a single-page app: it renders after loading)."""
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while True:
        text = page_text(driver)
        if ready(text):
            return text
        if time.monotonic() >= deadline:
            raise UiCheckFailed(f"{what}: not shown after {RENDER_TIMEOUT_S:g}s; the page says: {text[:300]!r}")
        time.sleep(0.5)


def save(driver: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    png = driver.get_screenshot_as_png()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(png)
    os.chmod(path, 0o600)
    return path


def _project_id(client: PhoenixClient, name: str) -> str:
    for project in client.projects():
        if project["name"] == name:
            return str(project["id"])
    raise UiCheckFailed(f"Phoenix has no project {name!r}")


def open_trace(driver: Any, settings: Settings, client: PhoenixClient, trace_id: str) -> str:
    project_id = _project_id(client, settings.phoenix_project_name)
    driver.get(f"{settings.phoenix_url}/projects/{project_id}/traces/{trace_id}")
    return wait_for(driver, "the trace view", lambda text: all(name in text for name in TREE))


def screenshot(settings: Settings, client: PhoenixClient, path: Path) -> Path:
    """The view of the demo's most recent trace, for the README."""
    roots = client.spans(settings.phoenix_project_name, parent_id="null", limit=1, max_spans=1)
    if not roots:
        raise UiCheckFailed(f"project {settings.phoenix_project_name!r} has no trace yet: run `invoke traffic`")
    with browser() as driver:
        open_trace(driver, settings, client, roots[0]["context"]["trace_id"])
        return save(driver, path)


def take_screenshot(settings: Settings, output: str) -> None:
    """`invoke screenshot` (through stackkit.cli.run): the trace view written to `output`, or one error."""
    if settings.phoenix_enable_auth:
        raise UiCheckFailed("PHOENIX_ENABLE_AUTH is on: the browser would need to log in, which this does not do")
    try:
        written = screenshot(settings, phoenix_client(settings), Path(output))
    except UiCheckFailed:
        raise
    except Exception as error:  # Phoenix down, browser crash: one line, not a traceback
        raise UiCheckFailed(
            f"cannot take the screenshot ({type(error).__name__}: {str(error)[:200]}); is the stack up?"
        ) from None
    print(f"wrote {written}")
