"""Components below the stability level Alloy runs with (its --stability.level flag, wherever the stack or the
user's compose file gives it), read against Alloy's component schema."""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stackkit.alloy.schema import (
    COMMUNITY,
    DEFAULT_STABILITY_LEVEL,
    STABILITY_FLAG,
    STABILITY_LEVELS,
    AlloySchema,
    stability_rank,
)
from stackkit.components import registry as components
from stackkit.components.registry import ALLOY
from stackkit.core.settings import REPO_ROOT
from stackkit.runtimes import render
from stackkit.verify.checks.schema import schema_of
from stackkit.verify.files import compose_service, interpolate
from stackkit.verify.findings import conclude, fail, warn
from stackkit.verify.registry import CheckResult, VerifyContext, check
from stackkit.verify.report import Location

# ---------------------------------------------------------------------------------------------------
# alloy.stability


def stability_flag(args: Sequence[str]) -> tuple[str | None, int | None]:
    """The --stability.level an `alloy run` command line passes (None when absent), and its index."""
    for index, arg in enumerate(args):
        name, equals, value = arg.lstrip("-").partition("=")
        if arg.startswith("-") and name == STABILITY_FLAG:
            if equals:
                return value, index
            return (args[index + 1] if index + 1 < len(args) else ""), index
    return None, None


@dataclass(frozen=True)
class Runner:
    """One way Alloy is started: where its command is written, and the command line."""

    shown: str  # the place, as messages name it
    where: Location
    args: tuple[str, ...]
    add_flag: str  # how to pass a level there


def native_command_place(native: Callable[..., object]) -> tuple[str, Location]:
    """The file the native command is written in (relative to the repository) and its file:line."""
    try:
        path = Path(inspect.getsourcefile(native) or "")
        line = inspect.getsourcelines(native)[1]
    except (OSError, TypeError):
        return "stackkit/components/alloy.py", Location("stackkit/components/alloy.py")
    try:
        shown = str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        shown = str(path)
    return shown, Location(shown, line)


def stack_runners(ctx: VerifyContext) -> list[Runner]:
    compose = ctx.files.compose[ALLOY.name]
    runners: list[Runner] = []
    service = compose_service(compose, ALLOY.compose_service) if not compose.error else None
    if service is not None:
        # No command: the image's default one, which passes no --stability.level.
        command = service.get("command") or []
        variables = render.compose_environment(ctx.settings)
        args = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
        runners.append(
            Runner(
                f"{compose.shown} (docker)",
                compose.where("services", ALLOY.compose_service, "command")
                if command
                else compose.where("services", ALLOY.compose_service),
                tuple(interpolate(arg, variables) for arg in args),
                f"in {compose.shown}, add --{STABILITY_FLAG}=${{{{ALLOY_STABILITY_LEVEL:?run through invoke up}}}} "
                "to services.alloy.command (the ALLOY_STABILITY_LEVEL setting: at least {level})",
            )
        )
    native = components.ALLOY.native_command
    if native is not None:
        shown, where = native_command_place(native)
        runners.append(
            Runner(
                f"the native command ({shown})",
                where,
                tuple(native(ctx.settings)[1:]),
                f"in {shown}, pass --{STABILITY_FLAG}=ALLOY_STABILITY_LEVEL (the setting: at least {{level}}) in "
                f"{getattr(native, '__name__', 'the native command')}",
            )
        )
    return runners


def runner_findings(ctx: VerifyContext, runner: Runner, schema: AlloySchema) -> list[CheckResult]:
    level, _ = stability_flag(runner.args)
    shown_level = (
        f"--{STABILITY_FLAG}={level}" if level is not None else f"no --{STABILITY_FLAG} (so {DEFAULT_STABILITY_LEVEL})"
    )
    level = DEFAULT_STABILITY_LEVEL if level is None else level
    if level not in STABILITY_LEVELS:
        return [
            fail(
                f"--{STABILITY_FLAG}={level} is not a level Alloy knows "
                f"({', '.join(STABILITY_LEVELS)}): it refuses to start",
                runner.add_flag.format(level=f"one of {', '.join(STABILITY_LEVELS)}"),
                at=runner.where,
            )
        ]
    return below_level(ctx, schema, level, f"{runner.where} runs Alloy with {shown_level}", runner.add_flag)


def below_level(ctx: VerifyContext, schema: AlloySchema, level: str, running: str, fix: str) -> list[CheckResult]:
    """Components below `level`; `running` says who runs Alloy with what, `fix` is formatted with the level."""
    findings = []
    for component in ctx.files.alloy.components:
        spec = schema.components.get(component.block.dotted_name)
        if spec is None:
            continue
        if spec.stability == COMMUNITY:
            findings.append(
                warn(
                    f"{component.block.dotted_name} is a community component: Alloy loads it "
                    "only with --feature.community-components.enabled",
                    "run Alloy with --feature.community-components.enabled, or use another component",
                    at=component.where(),
                )
            )
        elif stability_rank(spec.stability) < stability_rank(level):
            findings.append(
                fail(
                    f"{component.block.dotted_name} is {spec.stability} in Alloy "
                    f"{schema.alloy_version}, but {running}: Alloy refuses to start",
                    f"{fix.format(level=spec.stability)}, or stop using {component.block.dotted_name}",
                    at=component.where(),
                )
            )
    return findings


@check("alloy.stability", static=True, reads_user_files=True)
def alloy_stability(ctx: VerifyContext) -> CheckResult:
    schema = schema_of(ctx)
    used = sorted(
        {
            f"{spec.name} ({spec.stability})"
            for component in ctx.files.alloy.components
            if (spec := schema.components.get(component.block.dotted_name)) is not None
        }
    )
    if ctx.files.locations.user_alloy:
        level = ctx.files.locations.user_alloy_stability
        findings = below_level(
            ctx,
            schema,
            level,
            f"your Alloy runs with --{STABILITY_FLAG}={level} (verify's --alloy-stability-level"
            f"{', by default' if level == DEFAULT_STABILITY_LEVEL else ''})",
            f"run your Alloy with --{STABILITY_FLAG}={{level}} and check with --alloy-stability-level={{level}}",
        )
        return conclude(findings, f"every component loads at --{STABILITY_FLAG}={level}: {', '.join(used)}")
    runners = stack_runners(ctx)
    findings = []
    for runner in runners:
        findings += runner_findings(ctx, runner, schema)
    places = ", ".join(runner.shown for runner in runners)
    return conclude(findings, f"{places} run Alloy at a level that loads {', '.join(used)}")
