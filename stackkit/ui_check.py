"""The Phoenix UI checked the way a user looks at it: Debian's chromium driven by Selenium, offline.

`python -m stackkit.ui_check --out DIR` brings a stack up in a fresh state folder on free ports (like the smoke
test), runs `traffic --requests 20`, `verify` three times and `eval`, then opens the project list, the demo
project and one trace in a headless browser, checks what a user would check and saves screenshots (0600) in
DIR. It always tears the stack down. `screenshot(settings, path)` writes the trace view for the README.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackkit.errors import OperationFailed
from stackkit.phoenix.api import PhoenixClient, phoenix_client
from stackkit.phoenix.canary import CANARY_SPAN_NAME, STACK_PROJECT
from stackkit.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = "1600,1000"
RENDER_TIMEOUT_S = 30.0
# The demo's span tree under its root (services/ai-demo: chain.py, providers.py, tools.py).
TREE = ("chat", "plan", "get_weather", "synthesize")
TOTAL = re.compile(r"Total Traces\s*\n\s*([\d,]+)")


class UiCheckFailed(OperationFailed):
    """The Phoenix UI did not show what the check expected (or cannot be driven here)."""


@dataclass
class UiReport:
    screenshots: list[Path] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


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


def check_ui(settings: Settings, client: PhoenixClient, out_dir: Path, expected_traces: int) -> UiReport:
    """Open the project list, the demo project and one trace; UiCheckFailed names what a user would miss."""
    report = UiReport()
    project = settings.phoenix_project_name
    roots = client.spans(project, parent_id="null")
    if not roots:
        raise UiCheckFailed(f"project {project!r} has no traces to look at")
    with browser() as driver:
        driver.get(f"{settings.phoenix_url}/projects")
        text = wait_for(driver, "the project list", lambda t: project in t)
        report.screenshots.append(save(driver, out_dir / "projects.png"))
        report.checked.append(f"project list shows {project!r}")

        project_id = _project_id(client, project)
        driver.get(f"{settings.phoenix_url}/projects/{project_id}")
        text = wait_for(
            driver,
            "the demo project's traces and its Total Traces",
            lambda t: "POST /chat" in t and bool(TOTAL.search(t)),
        )
        report.screenshots.append(save(driver, out_dir / "project.png"))
        shown = int(TOTAL.search(text)[1].replace(",", ""))  # type: ignore[index]
        if shown != expected_traces:
            raise UiCheckFailed(f"the project page shows Total Traces {shown}, expected {expected_traces}")
        if CANARY_SPAN_NAME in text:
            raise UiCheckFailed(f"the demo project lists a {CANARY_SPAN_NAME!r} trace")
        report.checked.append(f"project page: Total Traces {shown}, no canary")

        trace_id = roots[0]["context"]["trace_id"]
        text = open_trace(driver, settings, client, trace_id)
        report.screenshots.append(save(driver, out_dir / "trace.png"))
        spans = client.spans(project, trace_ids=[trace_id])
        tokens = [str(s["attributes"]["llm.token_count.total"]) for s in spans if s["span_kind"] == "LLM"]
        missing = [count for count in tokens if count not in text]
        if len(tokens) != 2 or missing:
            raise UiCheckFailed(f"the trace view lacks the LLM spans' token counts {missing or tokens}")
        report.checked.append(f"trace {trace_id}: tree {' > '.join(TREE)}, LLM token counts {', '.join(tokens)}")
        annotations = [name for name in ("answered", "latency", "tool_ok") if name in text]
        if len(annotations) != 3:
            raise UiCheckFailed(f"the trace view shows eval annotations {annotations}, expected all three")
        report.checked.append("eval annotations answered, latency, tool_ok shown")
    if client.spans(STACK_PROJECT, limit=1, max_spans=1):
        raise UiCheckFailed(f"the stack's own project {STACK_PROJECT!r} still holds spans")
    return report


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


def measure(client: PhoenixClient, project: str) -> dict[str, Any]:
    """The issue's "done when" numbers."""
    return {
        "projects": sorted(p["name"] for p in client.projects()),
        "demo_traces": len(client.spans(project, parent_id="null")),
        "internal_spans": len(client.spans(STACK_PROJECT)),
    }


def main(argv: list[str] | None = None) -> int:
    from stackkit.dev import smoke
    from stackkit.phoenix import pricing as model_pricing
    from stackkit.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, help="folder for the screenshots (default: a new temporary one)")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument(
        "--readme-screenshot", type=Path, help="also write the trace view there (as `invoke screenshot`)"
    )
    args = parser.parse_args(argv)
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="stackkit-ui-"))
    state_dir = Path(tempfile.mkdtemp(prefix="stackkit-ui-stack-")) / "state"
    env = smoke.smoke_environment(state_dir, "native")
    failure: Exception | None = None
    try:
        smoke.invoke(env, "up")
        settings = load_settings(environ=env)
        client = phoenix_client(settings)
        model_pricing.register_offline_model_price(client)
        smoke.invoke(env, "traffic", "--requests", str(args.requests), "--sessions", "3")
        for _ in range(3):
            smoke.invoke(env, "verify")
        smoke.invoke(env, "eval")
        print(f"measured: {measure(client, settings.phoenix_project_name)}", flush=True)
        report = check_ui(settings, client, out_dir, expected_traces=args.requests)
        for line in report.checked:
            print(f"ui: {line}", flush=True)
        print(f"screenshots: {', '.join(map(str, report.screenshots))}", flush=True)
        print(f"measured after the browser: {measure(client, settings.phoenix_project_name)}", flush=True)
        if args.readme_screenshot:
            print(f"wrote {screenshot(settings, client, args.readme_screenshot)}", flush=True)
    except (smoke.SmokeFailure, UiCheckFailed) as error:
        failure = error
    finally:
        _down(env)
    if failure:
        print(f"\nUI CHECK FAILED: {failure}", flush=True)
        return 1
    print("\nui check passed", flush=True)
    return 0


def _down(env: dict[str, str]) -> None:
    import subprocess

    from stackkit.settings import REPO_ROOT

    subprocess.run([sys.executable, "-m", "invoke", "down", "--volumes", "--yes"], env=env, cwd=REPO_ROOT)


if __name__ == "__main__":
    sys.exit(main())
