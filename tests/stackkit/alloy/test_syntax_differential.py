"""stackkit/alloy/syntax.py held against Alloy's own parser (github.com/grafana/alloy/syntax, the module Alloy
v1.18.1 parses with): every Alloy file of the repository, the rendered pieces, and a few hundred mutations of
them (dropped braces, brackets, commas, quotes, equals signs and newlines; a fixed seed). Both must accept or
reject each one alike, and agree on the line of the first error.

tests/stackkit/alloy/parsecheck is a small Go program on that module; it is built with Go into pytest's
cache. Without Go (tools/system_packages.py) the test skips, except under CI=true, where it fails."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from system import require

from stackkit.alloy.syntax import AlloySyntaxError, parse
from stackkit.components.alloy import ALLOY_DIR
from stackkit.components.component import Plan
from stackkit.core.settings import load_settings
from stackkit.runtimes import render
from stackkit.verify.files import PLACEHOLDER_SECRETS

REPO = Path(__file__).resolve().parents[3]
PARSECHECK = Path(__file__).parents[1] / "alloy" / "parsecheck"
SEED = 24
MUTATIONS_PER_FILE = 40
# What a mutation drops or adds: the characters whose absence or surplus the scanner and parser must catch.
DROPPED = '{}[](),"=\n`/*'
INSERTED = ["\n", "{", "}", ",", '"', "=", ".", "#", "[", "]", "`"]
SKIPPED_DIRS = {".venv", ".nox", ".stack", ".git", "node_modules"}
# Shapes the mutations of the repository's files seldom reach; the first was a disagreement (our parser
# reported a block used as a value at once, where Alloy's first reads the block and reports what breaks in it).
EDGE_CASES = {
    "block-as-value": 'a {\n  b = c "label" {\n    d = 1\n  }\n}\n',
    "block-as-value-broken-inside": 'a {\n  b = c "label" {\n    d = \n  }\n}\n',
    "string-then-no-brace": 'a {\n  source = "x" "y"\n  z = 1\n}\n',
    "raw-string-swallows-lines": 'a {\n  s = "x"`\n  t = `{{ v }}`\n}\n',
    "label-not-identifier": 'a "not-valid" {\n}\n',
    "multi-line-array-no-trailing-comma": "a = [\n  1,\n  2\n]\n",
    "brace-on-next-line": "a\n{\n}\n",
    "unterminated-block-comment": "a = 1 /* never closed\n",
    "bad-escape": 'a = "\\q"\n',
    "hash-is-not-a-comment": "# a comment?\na = 1\n",
}


@pytest.fixture(scope="module")
def parsecheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = require("go")["go"]
    binary = tmp_path_factory.mktemp("parsecheck") / "parsecheck"
    build = subprocess.run(
        [go, "build", "-mod=readonly", "-o", str(binary), "."],
        cwd=PARSECHECK,
        capture_output=True,
        text=True,
        timeout=600,
        # Go 1.21 or later fetches the toolchain go.mod asks for from the module proxy when it is older.
        env={**os.environ, "GOFLAGS": "-mod=readonly"},
    )
    assert build.returncode == 0, f"building {PARSECHECK} failed:\n{build.stderr}"
    return binary


def repository_alloy_files() -> list[Path]:
    found = []
    for path in sorted(REPO.rglob("*.alloy")):
        if not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts):
            found.append(path)
    return found


def rendered_pieces(folder: Path) -> list[Path]:
    """The templates rendered for the settings that change what they write (auth, plain http, remote write)."""
    variants = {
        "default": {},
        "auth-remote-write": {"PHOENIX_ENABLE_AUTH": "true", "PROMETHEUS_REMOTE_WRITE_URL": "http://127.0.0.1:9/w"},
        "external-https": {"PHOENIX_EXTERNAL_URL": "https://phoenix.example.com/prefix"},
    }
    pieces = []
    env_file = folder / "empty.env"
    folder.mkdir(parents=True, exist_ok=True)
    env_file.touch()
    for name, overrides in variants.items():
        environ = {"STACK_ENV_FILE": str(env_file), "STACK_STATE_DIR": str(folder / name), **overrides}
        settings = load_settings(environ=environ, repo_root=REPO)
        settings = dataclasses.replace(settings, repo_root=REPO)
        render.render(
            settings,
            Plan(runtime="docker", components=("phoenix", "alloy", "ai-demo"), skipped={}),
            PLACEHOLDER_SECRETS,
        )
        pieces += sorted((settings.rendered_dir / ALLOY_DIR).glob("*.alloy"))
    return pieces


def mutations(source: str, rng: random.Random) -> list[str]:
    """Deterministic small breakages of one valid file."""
    found: list[str] = []
    positions = {ch: [i for i, c in enumerate(source) if c == ch] for ch in DROPPED}
    droppable = [ch for ch in DROPPED if positions[ch]]
    for _ in range(MUTATIONS_PER_FILE):
        if droppable and rng.random() < 0.7:
            ch = rng.choice(droppable)
            at = rng.choice(positions[ch])
            found.append(source[:at] + source[at + 1 :])
        else:
            at = rng.randrange(len(source) + 1)
            found.append(source[:at] + rng.choice(INSERTED) + source[at:])
    return list(dict.fromkeys(mutant for mutant in found if mutant != source))


@dataclasses.dataclass(frozen=True)
class Verdict:
    accepted: bool
    line: int | None
    message: str


def ours(path: Path) -> Verdict:
    try:
        parse(path.read_text(), str(path))
    except AlloySyntaxError as error:
        return Verdict(False, error.line, error.message)
    return Verdict(True, None, "")


def alloys(binary: Path, paths: list[Path]) -> dict[str, Verdict]:
    verdicts: dict[str, Verdict] = {}
    for start in range(0, len(paths), 200):
        chunk = paths[start : start + 200]
        run = subprocess.run([str(binary), *map(str, chunk)], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        for line in run.stdout.splitlines():
            result = json.loads(line)
            verdicts[result["path"]] = Verdict(result["accepted"], result.get("line"), result.get("message", ""))
    return verdicts


@pytest.mark.needs("go")
def test_our_parser_agrees_with_alloys_on_every_fixture_and_mutation(parsecheck: Path, tmp_path: Path) -> None:
    originals = repository_alloy_files() + rendered_pieces(tmp_path / "render")
    rng = random.Random(SEED)
    cases = list(originals)
    mutants_dir = tmp_path / "mutants"
    mutants_dir.mkdir()
    for name, source in EDGE_CASES.items():
        path = mutants_dir / f"edge-{name}.alloy"
        path.write_text(source)
        cases.append(path)
    for index, original in enumerate(originals):
        for number, mutant in enumerate(mutations(original.read_text(), rng)):
            path = mutants_dir / f"{index:02d}-{original.stem}-{number:03d}.alloy"
            path.write_text(mutant)
            cases.append(path)
    theirs = alloys(parsecheck, cases)
    disagreements = []
    rejected = 0
    for path in cases:
        mine, alloy = ours(path), theirs[str(path)]
        rejected += not alloy.accepted
        if mine.accepted != alloy.accepted or mine.line != alloy.line:
            disagreements.append(
                f"{path}: ours {'accepts' if mine.accepted else f'rejects at line {mine.line} ({mine.message})'}, "
                f"Alloy's {'accepts' if alloy.accepted else f'rejects at line {alloy.line} ({alloy.message})'}"
            )
    print(
        f"\nalloy syntax differential: {len(cases)} cases ({len(originals)} files, {len(cases) - len(originals)} "
        f"mutations and edge cases; Alloy rejects {rejected}), {len(disagreements)} disagreements"
    )
    assert not disagreements, "\n".join(disagreements)
