"""tools/alloy_schema: the go/ast reader that derives the component schema, run on a small Go tree
written here in the shapes Alloy's components use (squashed structs from another package, block lists through
named slice types, enum blocks, secrets, capsules, text-decoded types, a name held in a constant)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from system import require

from stackkit.alloy.schema import load

DERIVER = Path(__file__).resolve().parents[2] / "tools" / "alloy_schema"

COMPONENT = """package demo

import (
	"time"

	"github.com/grafana/alloy/internal/component"
	"github.com/grafana/alloy/internal/component/common"
	"github.com/grafana/alloy/internal/featuregate"
	"github.com/grafana/alloy/syntax/alloytypes"
)

const name = "demo.thing"

func init() {
	component.Register(component.Registration{
		Name:      name,
		Stability: featuregate.StabilityPublicPreview,
		Args:      Arguments{},
		Exports:   Exports{},
	})
}

type Rules []Rule

type Rule struct {
	Name   string `alloy:",label"`
	Action string `alloy:"action,attr"`
}

type Stage struct {
	JSON  *StageJSON  `alloy:"json,block,optional"`
	Regex *StageRegex `alloy:"regex,block,optional"`
}

type StageJSON struct {
	Source string `alloy:"source,attr,optional"`
}

type StageRegex struct {
	Expression string `alloy:"expression,attr"`
}

type Level string

func (l *Level) UnmarshalText(text []byte) error { return nil }

type Handle struct{}

func (Handle) AlloyCapsule() {}

type Arguments struct {
	Endpoint string             `alloy:"endpoint,attr"`
	Timeout  time.Duration      `alloy:"timeout,attr,optional"`
	Password alloytypes.Secret  `alloy:"password,attr,optional"`
	Labels   map[string]string  `alloy:"labels,attr,optional"`
	Level    Level              `alloy:"level,attr,optional"`
	Handler  *Handle            `alloy:"handler,attr,optional"`
	Ignored  string
	Client   common.Client      `alloy:",squash"`
	Rules    Rules              `alloy:"rule,block,optional"`
	Output   *common.Output     `alloy:"output,block"`
	Stages   []Stage            `alloy:"stage,enum,optional"`
}

type Exports struct {
	Receiver Handle `alloy:"receiver,attr"`
}
"""

COMMON = """package common

type Client struct {
	Retries  int     `alloy:"retries,attr,optional"`
	Ratio    float64 `alloy:"ratio,attr,optional"`
	Insecure bool    `alloy:"insecure,attr,optional"`
}

type Output struct {
	Traces []Consumer `alloy:"traces,attr,optional"`
}

type Consumer interface{ Consume() }
"""


@pytest.mark.needs("go")
def test_the_deriver_reads_tags_registrations_and_types_as_alloy_does(tmp_path: Path) -> None:
    binary = require("go")["go"]
    source = tmp_path / "alloy"
    (source / "internal/component/demo").mkdir(parents=True)
    (source / "internal/component/common").mkdir(parents=True)
    (source / "internal/component/demo/demo.go").write_text(COMPONENT)
    (source / "internal/component/common/common.go").write_text(COMMON)
    out = tmp_path / "v0.0.1.json"
    run = subprocess.run(
        [binary, "run", ".", "-src", str(source), "-tag", "v0.0.1", "-out", str(out)],
        cwd=DERIVER,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "1 components" in run.stdout
    assert json.loads(out.read_text())["alloy_version"] == "v0.0.1"
    schema = load(out)
    thing = schema.components["demo.thing"]
    assert thing.stability == "public-preview"
    assert thing.exports == {"receiver": "capsule(Handle)"}
    body = schema.body(thing.arguments)
    assert body is not None
    types = {name: (spec.type, spec.required) for name, spec in body.attributes.items()}
    assert types == {
        "endpoint": ("string", True),
        "timeout": ("duration", False),
        "password": ("secret", False),
        "labels": ("map(string)", False),
        "level": ("string", False),
        "handler": ("capsule(Handle)", False),
        "retries": ("number", False),
        "ratio": ("number", False),
        "insecure": ("bool", False),
    }
    blocks = {name: (spec.kind, spec.required, spec.repeatable) for name, spec in body.blocks.items()}
    assert blocks == {
        "rule": ("block", False, True),
        "output": ("block", True, False),
        "stage.json": ("enum", False, True),
        "stage.regex": ("enum", False, True),
    }
    output = schema.body(body.blocks["output"].body)
    assert output is not None and output.attributes["traces"].type == "list(capsule(Consumer))"
    regex = schema.body(body.blocks["stage.regex"].body)
    assert regex is not None and regex.attributes["expression"].required
    rule = schema.body(body.blocks["rule"].body)
    assert rule is not None and rule.attributes["action"].required and rule.label
    assert not body.label and regex.label is False
