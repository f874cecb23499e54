"""Phoenix: where its data lives, auth as configured and, on a running stack, its health and the senders' keys."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stackkit.alloy.syntax import (
    Attribute,
    Object,
    ObjectField,
    evaluate,
    reads_env,
)
from stackkit.components import phoenix as phoenix_component
from stackkit.components.registry import AI_DEMO, ALLOY, PHOENIX
from stackkit.core import secrets
from stackkit.core.health import probe
from stackkit.core.setting_values import OTELCOL_NAME
from stackkit.core.settings import Settings
from stackkit.phoenix import keys as auth
from stackkit.runtimes import render
from stackkit.verify.alloy_model import (
    EXPORTER_PREFIX,
    HTTP_EXPORTER,
    PHOENIX_KEY_VARIABLE,
    POSTGRES_DATA_DIR,
    TEMPORARY_ROOTS,
    client_attribute,
    phoenix_http_exporters,
)
from stackkit.verify.files import (
    NATIVE_PLAN,
    PLACEHOLDER_SECRETS,
    AlloyComponent,
    ComposeSource,
    compose_service,
    interpolate,
)
from stackkit.verify.findings import conclude, fail, warn
from stackkit.verify.live import (
    UP_FIX,
    rendered_env,
    running,
    runtime_and_plan,
)
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check

# ---------------------------------------------------------------------------------------------------
# phoenix.volume


def named_volume_targets(
    service: dict[str, Any], declared: Iterable[str], variables: Mapping[str, str]
) -> dict[str, str]:
    """Mount target -> named volume, for the named volumes (not bind mounts) a service mounts."""
    targets = {}
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            kind, source, target = entry.get("type"), entry.get("source", ""), entry.get("target", "")
            if kind != "volume":
                continue
        else:
            parts = interpolate(str(entry), variables).split(":")
            if len(parts) < 2:
                continue
            source, target = parts[0], parts[1]
        source, target = interpolate(str(source), variables), interpolate(str(target), variables)
        if source and not source.startswith(("/", ".", "~")) and source in declared:
            targets[target.rstrip("/") or "/"] = source
    return targets


def compose_environment_value(service: dict[str, Any], name: str, variables: Mapping[str, str]) -> str | None:
    environment = service.get("environment")
    if isinstance(environment, dict) and name in environment:
        return interpolate(str(environment[name]), variables)
    if isinstance(environment, list):
        for entry in environment:
            key, equals, value = str(entry).partition("=")
            if key == name and equals:
                return interpolate(value, variables)
    return None


def volume_finding(
    compose: ComposeSource, service_name: str, directory: str, what: str, variables: Mapping[str, str]
) -> CheckResult | None:
    if compose.error:
        return fail(compose.error, f"fix {compose.shown}")
    service = compose_service(compose, service_name)
    if service is None:
        return fail(
            f"{compose.shown}: no services.{service_name}",
            f"define services.{service_name} in {compose.shown}",
        )
    declared = (compose.data or {}).get("volumes") or {}
    targets = named_volume_targets(service, declared, variables)
    if directory.rstrip("/") in targets:
        return None
    where = (
        compose.where("services", service_name, "volumes")
        if service.get("volumes")
        else compose.where("services", service_name)
    )
    mounted = ", ".join(f"{volume} at {target}" for target, volume in targets.items()) or "none"
    return fail(
        f"no named volume is mounted at {directory}, where {what} (named volumes mounted: "
        f"{mounted}): every restart loses all traces",
        f"in {compose.shown}, mount a named volume declared under top-level volumes at {directory} "
        f"in services.{service_name}.volumes",
        at=where,
    )


def temporary_root(path: Path) -> Path | None:
    roots = {Path(root) for root in TEMPORARY_ROOTS} | {Path(tempfile.gettempdir())}
    resolved = path.resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return root
    return None


@check("phoenix.volume", static=True)
def phoenix_volume(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if settings.phoenix_external_url:
        return CheckResult.skipped(f"Phoenix is external ({settings.phoenix_url}): its data is not this stack's")
    variables = render.compose_environment(settings)
    findings: list[CheckResult] = []
    compose = ctx.files.compose[PHOENIX.name]
    service = compose_service(compose, PHOENIX.compose_service) or {}
    working_dir = compose_environment_value(service, "PHOENIX_WORKING_DIR", variables) or settings.phoenix_working_dir
    found = volume_finding(
        compose, PHOENIX.compose_service, working_dir, "Phoenix keeps its database (PHOENIX_WORKING_DIR)", variables
    )
    if found:
        findings.append(found)
    passed = [f"docker: a named volume holds PHOENIX_WORKING_DIR={working_dir}"]
    if settings.phoenix_db == "postgres":
        found = volume_finding(
            ctx.files.compose["phoenix-postgres"],
            "postgres",
            POSTGRES_DATA_DIR,
            "PostgreSQL keeps its data",
            variables,
        )
        if found:
            findings.append(found)
        passed.append(f"PostgreSQL's {POSTGRES_DATA_DIR} too")
    if settings.stack_runtime in ("native", "auto") and settings.phoenix_db == "sqlite":
        native_dir = Path(
            phoenix_component.environment(settings, NATIVE_PLAN, PLACEHOLDER_SECRETS)["PHOENIX_WORKING_DIR"]
        )
        findings += native_data_findings(settings.state_dir, native_dir, settings.stack_runtime)
        passed.append(f"native: {native_dir}")
    return conclude(findings, "; ".join(passed))


def native_data_findings(state_dir: Path, native_dir: Path, runtime: str) -> list[CheckResult]:
    fix = f"set STACK_STATE_DIR (now {state_dir}) to a persistent folder, such as the default .stack"
    if not native_dir.resolve().is_relative_to(state_dir.resolve()):
        return [fail(f"natively Phoenix's working dir {native_dir} is outside STACK_STATE_DIR={state_dir}", fix)]
    root = temporary_root(state_dir)
    if root is None:
        return []
    problem = (
        f"STACK_STATE_DIR={state_dir}: natively Phoenix keeps its database in {native_dir}, under {root}, "
        "which the system empties: every reboot loses all traces"
    )
    # A warning, not a failure: restarts keep the data; only a reboot (or a tmp cleaner) loses it, and a
    # throwaway state folder (the smoke run's) is a legitimate choice.
    return [warn(problem if runtime == "native" else problem + " (if the native runtime is used)", fix)]


# ---------------------------------------------------------------------------------------------------
# phoenix.auth-config (the runtime phoenix.auth check proves the key is accepted)


def authorization_headers(component: AlloyComponent) -> tuple[Attribute | None, ObjectField | None]:
    headers = client_attribute(component, "headers")
    if headers is None or not isinstance(headers.value, Object):
        return headers, None
    return headers, headers.value.field("authorization", ignore_case=True)


@check("phoenix.auth-config", static=True)
def phoenix_auth_config(ctx: VerifyContext) -> CheckResult:
    config = ctx.files.alloy
    exporters = phoenix_http_exporters(ctx)
    if not exporters:
        return CheckResult.skipped(f"no {HTTP_EXPORTER} sends to Phoenix (see alloy.exporter-protocol)")
    findings: list[CheckResult] = []
    if ctx.settings.phoenix_enable_auth:
        for exporter in exporters:
            findings += auth_on_findings(exporter, ctx)
        return conclude(
            findings,
            f"PHOENIX_ENABLE_AUTH=true: {', '.join(e.id for e in exporters)} sends authorization: Bearer "
            f'sys.env("{PHOENIX_KEY_VARIABLE}") (set in {ctx.files.alloy_env.shown})',
        )
    for exporter in (c for c in config.components if c.block.dotted_name.startswith(EXPORTER_PREFIX)):
        _, header = authorization_headers(exporter)
        if header is not None:
            findings.append(
                fail(
                    f"PHOENIX_ENABLE_AUTH=false but {exporter.id} still "
                    'sends an authorization header (a dangling "Bearer " with no key behind it)',
                    exporter.source.fix_in("add the headers only when auth is on ({% if auth_enabled %})"),
                    at=exporter.where(header.line),
                )
            )
    return conclude(findings, "PHOENIX_ENABLE_AUTH=false: no authorization header is configured")


def auth_on_findings(exporter: AlloyComponent, ctx: VerifyContext) -> list[CheckResult]:
    headers, header = authorization_headers(exporter)
    add_header = exporter.source.fix_in(
        f'set client.headers = {{ "authorization" = "Bearer " + sys.env("{PHOENIX_KEY_VARIABLE}") }} when auth is on'
    )
    if header is None:
        return [
            fail(
                f"PHOENIX_ENABLE_AUTH=true but "
                f"{exporter.id} sends no authorization header: Phoenix answers 401 and drops every span",
                add_header,
                at=exporter.where(headers.line if headers else None),
            )
        ]
    if not reads_env(header.value, PHOENIX_KEY_VARIABLE):
        return [
            fail(
                f"the authorization header is not built from "
                f'sys.env("{PHOENIX_KEY_VARIABLE}") (a key written into the config leaks it and goes stale)',
                add_header,
                at=exporter.where(header.line),
            )
        ]
    value = evaluate(header.value, ctx.files.alloy_env.values)  # holds the key: never printed
    if isinstance(value, str) and (not value.startswith("Bearer ") or not value.removeprefix("Bearer ").strip()):
        return [
            fail(
                f"the authorization header evaluates without a key: "
                f"{PHOENIX_KEY_VARIABLE} is empty or missing in {ctx.files.alloy_env.shown}",
                "run `invoke up`, which mints Phoenix's ingestion key and renders it into alloy.env",
                at=exporter.where(header.line),
            )
        ]
    return []


@check("phoenix.health", static=False, stage=Stage.PHOENIX)
def phoenix_health(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    results = [
        probe(f"{settings.phoenix_url}{path}", verify=settings.phoenix_tls_verify) for path in ("/healthz", "/readyz")
    ]
    failing = [f"{result.url}: {result.detail}" for result in results if not result.ok]
    if not failing:
        return CheckResult.passed(f"Phoenix answers /healthz and /readyz at {settings.phoenix_url}")
    if settings.phoenix_external_url:
        return CheckResult.failed(
            f"the external Phoenix does not answer: {'; '.join(failing)}", "see phoenix.remote for the cause and fix"
        )
    if not running(settings, PHOENIX.name):
        return CheckResult.failed(
            f"Phoenix is not running ({'; '.join(failing)})", UP_FIX.format(component=PHOENIX.name)
        )
    return CheckResult.failed(
        f"Phoenix runs but is not healthy: {'; '.join(failing)}",
        "/readyz runs SELECT 1: check the database (PHOENIX_SQL_DATABASE_URL with PHOENIX_DB=postgres) and "
        "`invoke logs --service phoenix`",
    )


def _senders(settings: Settings) -> dict[str, str]:
    """Who sends to Phoenix with a key, and the key each one was given."""
    _, plan = runtime_and_plan(settings)
    if plan.fan_out == OTELCOL_NAME:
        return {
            "otelcol (PHOENIX_API_KEY in its env, config.yaml's authorization header)": rendered_env(
                settings, OTELCOL_NAME
            ).get("PHOENIX_API_KEY", "")
        }
    if plan.via_fan_out:
        return {
            "alloy (PHOENIX_API_KEY in its env, config.alloy's Authorization header)": rendered_env(
                settings, ALLOY.name
            ).get("PHOENIX_API_KEY", "")
        }
    return {
        "ai-demo (AI_DEMO_PHOENIX_API_KEY, it exports straight to Phoenix)": rendered_env(settings, AI_DEMO.name).get(
            "AI_DEMO_PHOENIX_API_KEY", ""
        )
    }


@check("phoenix.auth", static=False, stage=Stage.AUTH)
def phoenix_auth(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if not settings.phoenix_wants_key:
        return CheckResult.passed("PHOENIX_ENABLE_AUTH is off and no PHOENIX_API_KEY given: no sender needs a key")
    if not probe(f"{settings.phoenix_url}/healthz", verify=settings.phoenix_tls_verify).ok:
        return CheckResult.skipped("Phoenix is not answering (see phoenix.health)")
    problems = []
    for sender, key in _senders(settings).items():
        if not key:
            problems.append(f"{sender} has no key")
        elif not auth.key_accepted(settings, key):
            problems.append(f"{sender} has a key Phoenix rejects (401: {secrets.fingerprint(key)})")
    if problems:
        return CheckResult.failed(
            "auth is on and spans are being dropped with 401: " + "; ".join(problems),
            "run `invoke rotate-key` (mints a key, restarts the sender) or `invoke down && invoke up`",
        )
    return CheckResult.passed("auth is on and Phoenix accepts every sender's key")
