"""The Phoenix UI checked the way a user looks at it: Debian's chromium driven by Selenium, offline.

`python -m tools.ui_check --out DIR` brings a stack up in a fresh state folder on free ports (like the smoke
test), runs `traffic --requests 20`, `verify` three times and `eval`, then opens the project list, the demo
project and one trace in a headless browser, checks what a user would check and saves screenshots (0600) in
DIR. It always tears the stack down.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackkit.commands.screenshot import (
    TREE,
    UiCheckFailed,
    _project_id,
    browser,
    open_trace,
    save,
    screenshot,
    wait_for,
)
from stackkit.core.settings import Settings
from stackkit.phoenix.api import PhoenixClient, phoenix_client
from stackkit.phoenix.canary import CANARY_SPAN_NAME, STACK_PROJECT

TOTAL = re.compile(r"Total Traces\s*\n\s*([\d,]+)")


@dataclass
class UiReport:
    screenshots: list[Path] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)


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


def measure(client: PhoenixClient, project: str) -> dict[str, Any]:
    """The issue's "done when" numbers."""
    return {
        "projects": sorted(p["name"] for p in client.projects()),
        "demo_traces": len(client.spans(project, parent_id="null")),
        "internal_spans": len(client.spans(STACK_PROJECT)),
    }


def main(argv: list[str] | None = None) -> int:
    from stackkit.core.settings import load_settings
    from stackkit.phoenix import pricing as model_pricing
    from tools import smoke

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

    from stackkit.core.settings import REPO_ROOT

    subprocess.run([sys.executable, "-m", "invoke", "down", "--volumes", "--yes"], env=env, cwd=REPO_ROOT)


if __name__ == "__main__":
    sys.exit(main())
