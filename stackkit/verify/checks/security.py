"""Security: the state folder is private, the UI admin does not answer to admin/admin, and what listens
where (who can reach the UIs)."""

from __future__ import annotations

import requests

from stackkit.components import registry as components
from stackkit.components.registry import PHOENIX
from stackkit.core import exposure, file_modes, secrets
from stackkit.core.health import probe
from stackkit.phoenix import admin
from stackkit.verify.live import runtime_and_plan
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check

SHOWN_PATHS = 5


@check("security.files", static=True)
def security_files(ctx: VerifyContext) -> CheckResult:
    state_dir = ctx.settings.state_dir
    if not state_dir.exists():
        return CheckResult.passed(f"{state_dir} does not exist yet (`invoke up` creates it private)")
    problems = file_modes.too_open(state_dir)
    if not problems:
        return CheckResult.passed(f"everything under {state_dir} is the owner's only (files 0600, folders 0700)")
    shown = ", ".join(
        f"{path.relative_to(state_dir.parent)} is {mode:04o} (want {wanted:04o})"
        for path, mode, wanted in problems[:SHOWN_PATHS]
    )
    more = f" and {len(problems) - SHOWN_PATHS} more" if len(problems) > SHOWN_PATHS else ""
    return CheckResult.failed(
        f"other users can read what holds traces or secrets: {shown}{more}",
        f"run `invoke up` (it makes the state folder private), or `chmod -R go-rwx {state_dir}`",
    )


@check("security.default-admin", static=False, stage=Stage.SECURITY)
def security_default_admin(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if not settings.phoenix_enable_auth:
        return CheckResult.skipped("PHOENIX_ENABLE_AUTH=false: Phoenix has no login (see security.exposure)")
    if settings.phoenix_external_url:
        return CheckResult.skipped(
            f"Phoenix at {settings.phoenix_url} is not run by this stack: its UI logins are yours to secure"
        )
    if not probe(f"{settings.phoenix_url}/healthz").ok:
        return CheckResult.skipped("Phoenix is not answering (see phoenix.health)")
    try:
        found = admin.state(settings, secrets.load(settings).get(secrets.ADMIN_PASSWORD, ""))
    except (requests.RequestException, admin.AdminLoginError) as error:
        return CheckResult.warned(f"could not try the UI login: {str(error)[:200]}", "run `invoke verify` later")
    if found.password is admin.Password.DEFAULT:
        return CheckResult.failed(
            f"{admin.ADMIN_EMAIL} logs in to {settings.phoenix_url} with the default password `admin`: anyone "
            "who reaches the UI reads every trace (a store created before the stack set the admin's password)",
            "run `invoke up`: it changes the password to a generated one (`invoke credentials --show`)",
        )
    if found.password is admin.Password.OTHER:
        return CheckResult.passed(
            f"admin/admin is refused; {admin.ADMIN_EMAIL}'s password was changed in the UI "
            f"(the one in {settings.secrets_file} no longer applies)"
        )
    return CheckResult.passed(
        f"admin/admin is refused; {admin.ADMIN_EMAIL} logs in with the generated password (`invoke credentials`)"
    )


def _listeners(ctx: VerifyContext) -> list[exposure.Listener]:
    runtime, _ = runtime_and_plan(ctx.settings)
    found: list[exposure.Listener] = []
    for component in components.ALL:
        if not runtime.state(component.name).running:
            continue
        if runtime.name == "native":
            pid = runtime.pid(component.name)  # type: ignore[attr-defined]
            if pid is not None:
                found += exposure.process_listeners(component.name, pid)
        else:
            for container in runtime.containers(component.name):  # type: ignore[attr-defined]
                ports = container.attrs.get("NetworkSettings", {}).get("Ports") or {}
                found += exposure.published_listeners(component.name, ports)
    return found


@check("security.exposure", static=False, stage=Stage.SECURITY)
def security_exposure(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    listeners = _listeners(ctx)
    if not listeners:
        return CheckResult.skipped("nothing of the stack is running")
    ui_ports = {settings.phoenix_ui_port, settings.alloy_ui_port, settings.ai_demo_port}
    notes = []
    for listener in listeners:
        if listener.component == PHOENIX.name and not listener.loopback_only:
            if listener.port == settings.phoenix_grpc_host_port:
                notes.append(
                    f"Phoenix's OTLP/gRPC on {listener.describe()} is hard-coded on every interface by Phoenix "
                    "(phoenix/server/grpc_server.py): it takes spans, it serves no traces"
                    + (", and needs the ingestion key" if settings.phoenix_enable_auth else ", from anyone")
                )
            elif listener.port == exposure.PHOENIX_METRICS_PORT:
                notes.append(
                    f"Phoenix's metrics on {listener.describe()} (PHOENIX_ENABLE_PROMETHEUS=true) are hard-coded "
                    "on every interface: counts and sizes, no traces"
                )
    summary = "listening: " + ", ".join(listener.describe() for listener in listeners)
    if notes:
        summary += "; " + "; ".join(notes)
    open_uis = [l for l in listeners if l.port in ui_ports and not l.loopback_only]  # noqa: E741
    if open_uis and not settings.phoenix_enable_auth:
        return CheckResult.warned(
            f"{', '.join(l.describe() for l in open_uis)} reachable beyond this machine with auth off: anyone "  # noqa: E741
            f"who reaches them reads every trace; {summary}",
            "set PHOENIX_ENABLE_AUTH=true, or STACK_UI_ADDRESS=127.0.0.1 and reach the UI through a TLS proxy "
            "or an SSH tunnel (docs/security.md)",
        )
    return CheckResult.passed(summary)
