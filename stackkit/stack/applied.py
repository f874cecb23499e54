"""What `invoke up` applied, recorded in the state folder (applied.json, the one record of what runs): the
runtime, the components (and why any was skipped), the non-secret settings as given, fingerprints of the
secret ones, Phoenix's pass-through settings, the versions actually running, and whether `invoke down`
stopped it since.

Later tasks act on the stack through it (stackkit.core.settings.load_settings layers it under what is given
now), and `invoke up` compares it with the settings given now to apply exactly the differences.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core import envfile, secrets
from stackkit.core.settings import (
    APPLIED_FILE,
    SECRETS_FILE,
    SPECS_BY_NAME,
    Settings,
    applied_record_fix,
    given_values,
    read_applied_record,
    settings_from_given,
)


@dataclass(frozen=True)
class AppliedState:
    runtime: str
    components: tuple[str, ...]
    skipped: Mapping[str, str]
    settings: Mapping[str, str]  # non-secret settings as given
    secret_fingerprints: Mapping[str, str]  # "" for a secret that was empty
    phoenix_passthrough: Mapping[str, str] = field(repr=False)
    versions: Mapping[str, str]
    applied_at: str
    stopped: bool = False  # `invoke down` stopped it: the runtime is no longer the one things run on


@dataclass(frozen=True)
class Change:
    name: str
    applied: str  # as shown: a secret shows its fingerprint
    now: str
    restarts: tuple[str, ...]
    in_place: bool

    def describe(self) -> str:
        what = f"restarts {', '.join(self.restarts)}" if self.restarts else "takes effect without a restart"
        if not self.in_place:
            what = "cannot be applied to a running stack"
        return f"{self.name}: {self.applied or '(empty)'} -> {self.now or '(empty)'} ({what})"


def _fingerprints(settings: Settings) -> dict[str, str]:
    return {name: secrets.fingerprint(value) if value else "" for name, value in given_values(settings, True).items()}


def running_versions(settings: Settings, plan: Plan) -> dict[str, str]:
    """The version each component runs: natively the installed package's, on docker the image."""
    versions = {}
    for name in plan.components:
        component = components.get(name)
        if plan.runtime == "docker":
            versions[name] = settings.value_of(component.image_setting)
        elif component.native_version is not None:
            versions[name] = component.native_version(settings)
        else:
            versions[name] = settings.value_of(component.version_setting) if component.version_setting else "local"
    return versions


def record(settings: Settings, plan: Plan) -> AppliedState:
    """Write what is applied now (0600: Phoenix's pass-through settings may hold passwords)."""
    state = AppliedState(
        runtime=plan.runtime,
        components=plan.components,
        skipped=dict(plan.skipped),
        settings=given_values(settings),
        secret_fingerprints=_fingerprints(settings),
        phoenix_passthrough=dict(settings.phoenix_passthrough),
        versions=running_versions(settings, plan),
        applied_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    _write(settings, state)
    # The secret settings given now are kept with the generated ones, so a task from another shell has them.
    remembered = {name: value for name, value in given_values(settings, True).items() if value}
    if remembered:
        secrets.save(settings, secrets.load(settings) | remembered)
    return state


def read(settings: Settings) -> AppliedState | None:
    """The record of the stack in settings.state_dir; None when it was never brought up (or was wiped)."""
    body = read_applied_record(settings.state_dir)
    if body is None:
        return None
    return AppliedState(
        runtime=body.get("runtime", "native"),
        components=tuple(body.get("components", ())),
        skipped=body.get("skipped", {}),
        settings=body.get("settings", {}),
        secret_fingerprints=body.get("secret_fingerprints", {}),
        phoenix_passthrough=body.get("phoenix_passthrough", {}),
        versions=body.get("versions", {}),
        applied_at=body.get("applied_at", ""),
        stopped=bool(body.get("stopped", False)),
    )


def running_runtime(settings: Settings) -> str | None:
    """The runtime the stack in settings.state_dir runs on; None when nothing was brought up since `down`."""
    state = read(settings)
    return state.runtime if state is not None and not state.stopped else None


def _write(settings: Settings, state: AppliedState) -> None:
    body = {
        "runtime": state.runtime,
        "components": list(state.components),
        "skipped": dict(state.skipped),
        "settings": dict(state.settings),
        "secret_fingerprints": dict(state.secret_fingerprints),
        "phoenix_passthrough": dict(state.phoenix_passthrough),
        "versions": dict(state.versions),
        "applied_at": state.applied_at,
        "stopped": state.stopped,
    }
    envfile.write_private(settings.state_dir / APPLIED_FILE, json.dumps(body, indent=2) + "\n")


def record_stopped(settings: Settings) -> None:
    """After `invoke down`: the settings stay remembered, the runtime is chosen again by the next `up`."""
    state = read(settings)
    if state is not None:
        _write(settings, dataclasses.replace(state, components=(), stopped=True))


def forget(settings: Settings) -> None:
    """After `down --volumes`: the next `up` starts from the settings given then."""
    (settings.state_dir / APPLIED_FILE).unlink(missing_ok=True)


def applied_settings(settings: Settings, state: AppliedState) -> Settings:
    """The settings the running stack was brought up with (secrets from the secrets file)."""
    stored = envfile.read(settings.state_dir / SECRETS_FILE)
    secret_values = {name: value for name, value in stored.items() if name in SPECS_BY_NAME}
    given = {**state.settings, **secret_values, "STACK_STATE_DIR": str(settings.state_dir)}
    record = settings.state_dir / APPLIED_FILE
    return settings_from_given(
        given, settings.repo_root, str(record), passthrough=state.phoenix_passthrough, fix=applied_record_fix(record)
    )


def changes(state: AppliedState, settings: Settings) -> list[Change]:
    """The settings given now that differ from what the running stack applied, in declaration order."""
    found = []
    now_plain = given_values(settings)
    now_secret = _fingerprints(settings)
    for name, spec in SPECS_BY_NAME.items():
        if name == "STACK_STATE_DIR":
            continue  # another state folder is another stack, not a change to this one
        if spec.secret:
            before, after = state.secret_fingerprints.get(name, ""), now_secret.get(name, "")
            if name not in settings.explicit or not after:
                continue  # an empty secret given now means "generated/kept", not "clear it"
        else:
            before, after = state.settings.get(name, spec.default), now_plain[name]
        if before != after:
            found.append(Change(name, before, after, spec.restarts, spec.in_place))
    passthrough_now = dict(settings.phoenix_passthrough)
    for name in sorted(set(passthrough_now) | set(state.phoenix_passthrough)):
        before, after = state.phoenix_passthrough.get(name, ""), passthrough_now.get(name, "")
        if before != after:
            shown = (secrets.fingerprint(before) if before else "", secrets.fingerprint(after) if after else "")
            found.append(Change(name, shown[0], shown[1], (components.PHOENIX.name,), True))
    return found
