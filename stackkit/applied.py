"""What `invoke up` applied, recorded in the state folder: the runtime, the components (and why any was
skipped), the non-secret settings as given, fingerprints of the secret ones, Phoenix's pass-through settings
and the versions actually running.

Later tasks act on the stack through it (stackkit.settings.load_settings layers it under what is given
now), and `invoke up` compares it with the settings given now to apply exactly the differences.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from stackkit import components, envfile, secrets
from stackkit.render import Plan
from stackkit.settings import (
    APPLIED_FILE,
    SECRETS_FILE,
    SPECS_BY_NAME,
    Settings,
    given_values,
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
        elif name == "phoenix":
            versions[name] = metadata.version("arize-phoenix")
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
    body = {
        "runtime": state.runtime,
        "components": list(state.components),
        "skipped": dict(state.skipped),
        "settings": dict(state.settings),
        "secret_fingerprints": dict(state.secret_fingerprints),
        "phoenix_passthrough": dict(state.phoenix_passthrough),
        "versions": dict(state.versions),
        "applied_at": state.applied_at,
    }
    envfile.write_private(settings.state_dir / APPLIED_FILE, json.dumps(body, indent=2) + "\n")
    # The secret settings given now are kept with the generated ones, so a task from another shell has them.
    remembered = {name: value for name, value in given_values(settings, True).items() if value}
    if remembered:
        secrets.save(settings, secrets.load(settings) | remembered)
    return state


def read(settings: Settings) -> AppliedState | None:
    """The record of the stack in settings.state_dir; None when it was never brought up (or was wiped)."""
    try:
        body: dict[str, Any] = json.loads((settings.state_dir / APPLIED_FILE).read_text())
    except (FileNotFoundError, ValueError):
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
    )


def forget(settings: Settings) -> None:
    """After `down --volumes`: the next `up` starts from the settings given then."""
    (settings.state_dir / APPLIED_FILE).unlink(missing_ok=True)


def applied_settings(settings: Settings, state: AppliedState) -> Settings:
    """The settings the running stack was brought up with (secrets from the secrets file)."""
    stored = envfile.read(settings.state_dir / SECRETS_FILE)
    secret_values = {name: value for name, value in stored.items() if name in SPECS_BY_NAME}
    given = {**state.settings, **secret_values, "STACK_STATE_DIR": str(settings.state_dir)}
    return settings_from_given(given, settings.repo_root, passthrough=state.phoenix_passthrough)


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
            found.append(Change(name, shown[0], shown[1], ("phoenix",), True))
    return found
