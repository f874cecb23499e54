"""On a running stack: Alloy is ready, and its log has no export error."""

from __future__ import annotations

import requests

from stackkit.components.registry import ALLOY
from stackkit.core.health import probe
from stackkit.verify.live import (
    UP_FIX,
    alloy_skip_reason,
    external,
    running,
    runtime_and_plan,
)
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check


@check("alloy.ready", static=False, stage=Stage.COLLECTOR)
def alloy_ready(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := alloy_skip_reason(settings):
        return CheckResult.skipped(reason)
    ready = probe(f"{settings.alloy_url}/-/ready")
    if not ready.ok and external(settings, ALLOY.name):
        return CheckResult.failed(
            f"your Alloy at ALLOY_EXTERNAL_URL={settings.alloy_url}: /-/ready {ready.detail}",
            "start it, and make its UI listen where ALLOY_EXTERNAL_URL points (--server.http.listen-addr; "
            "the default 127.0.0.1:12345 is not reachable from other hosts or containers)",
        )
    if not ready.ok:
        return CheckResult.failed(f"Alloy's /-/ready: {ready.detail}", UP_FIX.format(component=ALLOY.name))
    components = requests.get(f"{settings.alloy_url}/api/v0/web/components", timeout=5).json()
    unhealthy = [
        f"{item.get('localID')} ({item.get('health', {}).get('state')})"
        for item in components
        if item.get("health", {}).get("state") != "healthy"
    ]
    if unhealthy:
        return CheckResult.failed(
            f"Alloy components not healthy: {', '.join(unhealthy)}",
            f"open {settings.alloy_url} for each component's message; `invoke logs --service alloy`",
        )
    return CheckResult.passed(f"Alloy is ready and its {len(components)} components are healthy")


@check("alloy.errors", static=False, stage=Stage.COLLECTOR)
def alloy_errors(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if reason := alloy_skip_reason(settings):
        return CheckResult.skipped(reason)
    if external(settings, ALLOY.name):
        return CheckResult.skipped("your Alloy's log is yours to read (alloy.ready shows unhealthy components)")
    if not running(settings, ALLOY.name):
        return CheckResult.skipped("Alloy is not running (see alloy.ready)")
    runtime, _ = runtime_and_plan(settings)
    lines = list(runtime.logs(ALLOY.name, tail=300))
    errors = [line for line in lines if "level=error" in line]
    warnings = [line for line in lines if "level=warn" in line]
    fix = "read the lines with `invoke logs --service alloy --tail 300`; a 401 from Phoenix means a missing key"
    if errors:
        return CheckResult.failed(f"{len(errors)} level=error lines in Alloy's log, last: {errors[-1][:200]}", fix)
    if warnings:
        return CheckResult.warned(f"{len(warnings)} level=warn lines in Alloy's log, last: {warnings[-1][:200]}", fix)
    return CheckResult.passed(f"no errors or warnings in Alloy's last {len(lines)} log lines")
