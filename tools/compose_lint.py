"""Validate the compose files: with a real Compose's `config` where one is installed, otherwise against the
Compose Specification's JSON schema (as shipped inside the docker-compose 1.29.2 wheel).

`python -m tools.compose_lint` exits 1 naming each file and problem.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import yaml

from stackkit.components import phoenix
from stackkit.components import registry as components
from stackkit.components.component import Plan
from stackkit.core.settings import REPO_ROOT, load_settings
from stackkit.runtimes.docker import find_compose
from stackkit.runtimes.render import compose_environment, compose_override_path, render

# The versioned compose files of each compose project (the rendered override is added when linting).
COMPOSE_PROJECTS = {component.compose_project: [component.compose_file] for component in components.ALL}
COMPOSE_PROJECTS[components.PHOENIX.compose_project].append(
    f"{components.PHOENIX.compose_dir}/{phoenix.POSTGRES_OVERRIDE}"
)


def compose_schema(wheel: Path) -> dict:
    """The schema file inside the docker-compose wheel; the wheel is only downloaded, never installed
    (installed, its broken `docker-compose` script would shadow a real one on PATH)."""
    with zipfile.ZipFile(wheel) as archive:
        return json.loads(archive.read("compose/config/compose_spec.json"))


def validate_with_schema(wheel: Path) -> list[str]:
    validator = jsonschema.Draft201909Validator(compose_schema(wheel))
    problems = []
    for files in COMPOSE_PROJECTS.values():
        for name in files:
            document = yaml.safe_load((REPO_ROOT / name).read_text())
            for error in validator.iter_errors(document):
                where = "/".join(map(str, error.absolute_path)) or "(top level)"
                problems.append(f"{name}: {where}: {error.message}")
    return problems


def validate_with_compose(compose: list[str]) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="stackkit-compose-lint-") as scratch:
        # Compose resolves env_file paths at `config` time: render into a scratch state folder.
        settings = load_settings(
            environ={"STACK_STATE_DIR": scratch, "STACK_ENV_FILE": "/dev/null", "PHOENIX_DB": "postgres"}
        )
        plan = Plan(runtime="docker", components=components.NAMES, skipped={})
        render(settings, plan, {"POSTGRES_PASSWORD": "lint-placeholder"})
        problems = []
        for component in components.ALL:
            files = COMPOSE_PROJECTS[component.compose_project]
            command = [*compose, "-p", component.compose_project]
            for name in files:
                command += ["-f", str(REPO_ROOT / name)]
            command += ["-f", str(compose_override_path(settings, component.name))]
            result = subprocess.run(
                [*command, "config", "--quiet"],
                env=compose_environment(settings),
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                problems.append(f"{', '.join(files)}: {result.stderr.strip() or result.stdout.strip()}")
        return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schema-wheel", type=Path, help="docker-compose wheel holding the schema (fallback)")
    args = parser.parse_args(argv)
    compose = find_compose()
    if compose:
        how, problems = f"`{' '.join(compose)} config`", validate_with_compose(compose)
    elif args.schema_wheel:
        how, problems = (
            "the Compose Specification schema (no Compose installed)",
            validate_with_schema(args.schema_wheel),
        )
    else:
        print("no Compose implementation and no --schema-wheel: cannot validate the compose files")
        return 1
    for problem in problems:
        print(f"FAIL {problem}")
    files = sum(len(files) for files in COMPOSE_PROJECTS.values())
    print(f"{files} compose files checked with {how}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
