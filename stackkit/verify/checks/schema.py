"""What Alloy itself refuses at load, read against its component schema (stackkit/alloy/schema.py):
attributes and blocks a component does not accept, required ones missing, literal values of the wrong type,
a block given twice that may appear once. Components below the stability level Alloy runs with: stability.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stackkit.alloy.schema import AlloySchema, BodySpec, closest, element_type, for_version, is_go_duration
from stackkit.alloy.syntax import (
    Array,
    Attribute,
    Block,
    Expr,
    Literal,
    Object,
    Stmt,
    Unary,
    iter_attributes,
    references,
)
from stackkit.verify.files import AlloyComponent, AlloyConfig
from stackkit.verify.findings import conclude, fail
from stackkit.verify.registry import CheckResult, VerifyContext, check
from stackkit.verify.report import Location

REFUSED = "Alloy refuses to load the configuration"
# Top-level blocks that configure Alloy itself or define modules, not components in the schema.
CONFIG_BLOCKS = {"logging", "tracing", "http", "remotecfg", "livedebugging", "foreach", "declare", "argument", "export"}


def schema_of(ctx: VerifyContext) -> AlloySchema:
    return for_version(ctx.settings.alloy_version)


def version_note(ctx: VerifyContext, schema: AlloySchema) -> str:
    if schema.alloy_version == ctx.settings.alloy_version:
        return f"Alloy {schema.alloy_version}'s schema"
    return f"Alloy {schema.alloy_version}'s schema (ALLOY_VERSION is {ctx.settings.alloy_version}: none derived for it)"


# ---------------------------------------------------------------------------------------------------
# alloy.schema


@dataclass(frozen=True)
class Place:
    """Where in a component a body is: for messages such as `otelcol.exporter.otlphttp.phoenix: client`."""

    component: AlloyComponent
    path: tuple[str, ...]
    parent: BodySpec | None = None  # the enclosing block's spec: a name it takes was likely put one level too deep

    @property
    def shown(self) -> str:
        inside = " > ".join(self.path)
        return f"{self.component.id}: {inside}" if inside else self.component.id

    def where(self, line: int) -> Location:
        return self.component.where(line)

    def fix(self, change: str) -> str:
        return self.component.source.fix_in(change)


def literal_kind(expr: Expr) -> str | None:
    """The Alloy type of a literal value; None when it is computed (a call, a reference, an operator)."""
    if isinstance(expr, Unary) and expr.op == "-" and isinstance(expr.value, Literal):
        return literal_kind(expr.value)
    if isinstance(expr, Array):
        return "array"
    if isinstance(expr, Object):
        return "object"
    if not isinstance(expr, Literal):
        return None
    value = expr.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def _number_text(expr: Expr) -> str:
    if isinstance(expr, Unary) and isinstance(expr.value, Literal):
        return f"-{expr.value.value}"
    return str(expr.value) if isinstance(expr, Literal) else ""


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def type_problem(expr: Expr, type_name: str) -> tuple[Expr, str] | None:
    """The literal (possibly inside a list or map) Alloy cannot decode into type_name, and why."""
    kind = literal_kind(expr)
    if kind is None or kind == "null" or type_name == "any" or type_name.startswith("capsule"):
        return None
    inner = element_type(type_name)
    if type_name.startswith("list("):
        if not isinstance(expr, Array):
            return expr, f"is {_a(kind)}, but a list is expected ({type_name})"
        return _first(type_problem(element, inner or "any") for element in expr.elements)
    if type_name.startswith("map("):
        if not isinstance(expr, Object):
            return expr, f"is {_a(kind)}, but an object is expected ({type_name})"
        return _first(type_problem(field.value, inner or "any") for field in expr.fields)
    if type_name == "object":
        return None if kind == "object" else (expr, f"is {_a(kind)}, but an object is expected")
    accepted = {
        "string": {"string", "number"},  # Alloy converts a number to its text
        "secret": {"string"},
        "optional_secret": {"string"},
        "number": {"number", "string"},  # and a string holding a number to the number
        "bool": {"bool"},
        "duration": {"string", "number"},  # read as text by Go's time.ParseDuration
    }.get(type_name)
    if accepted is None:
        return None
    if kind not in accepted:
        return expr, f"is {_a(kind)}, but Alloy expects {_a(type_name)}"
    if (
        type_name == "number"
        and isinstance(expr, Literal)
        and kind == "string"
        and not _parses_as_number(str(expr.value))
    ):
        return expr, f'is the string "{expr.value}", which is not a number'
    if type_name == "duration":
        text = str(expr.value) if kind == "string" and isinstance(expr, Literal) else _number_text(expr)
        if not is_go_duration(text):
            written = f'"{text}"' if kind == "string" else text
            return expr, f'is {written}, not a duration (a string with a unit, such as "200ms", "5s", "1m")'
    return None


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeio" else f"a {kind}"


def _first(problems: Iterable[tuple[Expr, str] | None]) -> tuple[Expr, str] | None:
    return next((problem for problem in problems if problem is not None), None)


def _line(expr: Expr, fallback: int) -> int:
    return getattr(expr, "line", fallback)


def body_findings(
    schema: AlloySchema, body: Sequence[Stmt], spec: BodySpec, place: Place, opened_at: int
) -> list[CheckResult]:
    """Every problem of one block body against its spec, nested blocks included."""
    findings: list[CheckResult] = []
    seen_attributes: dict[str, Attribute] = {}
    seen_blocks: dict[str, Block] = {}
    misspelt: set[str] = set()  # names an unknown one was taken for: not also reported missing
    for stmt in body:
        if isinstance(stmt, Attribute):
            if stmt.name not in spec.attributes:
                misspelt.add(closest(stmt.name, spec.names()) or "")
            findings += attribute_findings(stmt, spec, place, seen_attributes)
            continue
        name = stmt.dotted_name
        block_spec = spec.blocks.get(name)
        if block_spec is None:
            misspelt.add(closest(name, spec.names()) or "")
            findings.append(unknown(stmt.line, name, "block", spec, place))
            continue
        first = seen_blocks.setdefault(name, stmt)
        if first is not stmt and not block_spec.repeatable:
            findings.append(
                fail(
                    f"{place.shown}: block `{name}` is given twice (also at line "
                    f"{first.line}), but may appear once; {REFUSED}",
                    place.fix(f"merge the two `{name}` blocks of {place.shown} into one"),
                    at=place.where(stmt.line),
                )
            )
        inner = schema.body(block_spec.body)
        if inner is not None and inner.label != (stmt.label is not None):
            needs = "requires a label" if inner.label else "takes no label"
            change = f'name it: {name} "a_name" {{ … }}' if inner.label else f"write `{name} {{ … }}` without the label"
            findings.append(
                fail(f"{place.shown}: block `{name}` {needs}; {REFUSED}", place.fix(change), at=place.where(stmt.line))
            )
        if inner is not None:
            inside = Place(place.component, (*place.path, name), spec)
            findings += body_findings(schema, stmt.body, inner, inside, stmt.line)
    for name, attribute_spec in spec.attributes.items():
        if attribute_spec.required and name not in seen_attributes and name not in misspelt:
            findings.append(
                fail(
                    f"{place.shown}: the required attribute `{name}` ({attribute_spec.type}) is missing; {REFUSED}",
                    place.fix(f"set `{name} = …` in {place.shown}"),
                    at=place.where(opened_at),
                )
            )
    for name, block_spec in spec.blocks.items():
        if block_spec.required and name not in seen_blocks and name not in misspelt:
            findings.append(
                fail(
                    f"{place.shown}: the required block `{name}` is missing; {REFUSED}",
                    place.fix(f"add a `{name} {{ … }}` block to {place.shown}"),
                    at=place.where(opened_at),
                )
            )
    return findings


def attribute_findings(stmt: Attribute, spec: BodySpec, place: Place, seen: dict[str, Attribute]) -> list[CheckResult]:
    attribute_spec = spec.attributes.get(stmt.name)
    if attribute_spec is None:
        return [unknown(stmt.line, stmt.name, "attribute", spec, place)]
    first = seen.setdefault(stmt.name, stmt)
    if first is not stmt:
        return [
            fail(
                f"{place.shown}: `{stmt.name}` is set twice (also at line {first.line}); {REFUSED}",
                place.fix(f"keep one `{stmt.name}` in {place.shown}"),
                at=place.where(stmt.line),
            )
        ]
    problem = type_problem(stmt.value, attribute_spec.type)
    if problem is None:
        return []
    expr, why = problem
    example = ' such as "200ms"' if attribute_spec.type == "duration" else ""
    return [
        fail(
            f"{place.shown}: `{stmt.name}` {why}; {REFUSED}",
            place.fix(f"give `{stmt.name}` {_a(attribute_spec.type)}{example}"),
            at=place.where(_line(expr, stmt.line)),
        )
    ]


def unknown(line: int, name: str, kind: str, spec: BodySpec, place: Place) -> CheckResult:
    other_kind = "block" if kind == "attribute" else "attribute"
    if (kind == "attribute" and name in spec.blocks) or (kind == "block" and name in spec.attributes):
        written = f"`{name} {{ … }}`" if other_kind == "block" else f"`{name} = …`"
        return fail(
            f"{place.shown}: `{name}` is {_a(other_kind)} here, not {_a(kind)}; {REFUSED}",
            place.fix(f"write it as {written}"),
            at=place.where(line),
        )
    if place.parent is not None and name in place.parent.names():
        enclosing = " > ".join(place.path[:-1]) or place.component.id
        return fail(
            f"{place.shown}: unknown {kind} `{name}`: it belongs to the enclosing "
            f"{enclosing}, not inside `{place.path[-1]}`; {REFUSED}",
            place.fix(f"move `{name}` out of `{place.path[-1]}` into {enclosing}"),
            at=place.where(line),
        )
    suggestion = closest(name, spec.names())
    accepted = ", ".join(sorted(spec.names())) or "nothing"
    hint = f"; did you mean `{suggestion}`?" if suggestion else f" (it accepts: {accepted})"
    change = f"rename `{name}` to `{suggestion}`" if suggestion else f"remove `{name}` from {place.shown}"
    return fail(f"{place.shown}: unknown {kind} `{name}`{hint}; {REFUSED}", place.fix(change), at=place.where(line))


def export_findings(config: AlloyConfig, schema: AlloySchema) -> list[CheckResult]:
    """References to an export a component does not have (otelcol.exporter.otlphttp.phoenix.inputs)."""
    findings = []
    for component in config.components:
        for attribute in iter_attributes(component.block.body):
            for reference in references(attribute.value):
                target = config.resolve(reference.path)
                spec = schema.components.get(target.block.dotted_name) if target else None
                if target is None or spec is None:
                    continue
                at = len(target.block.name) + 1
                if at >= len(reference.path) or reference.path[at] in spec.exports:
                    continue
                name = reference.path[at]
                suggestion = closest(name, spec.exports)
                exports = ", ".join(sorted(spec.exports)) or "nothing"
                hint = f"; did you mean `{suggestion}`?" if suggestion else f" (it exports: {exports})"
                change = f"use {target.id}.{suggestion}" if suggestion else f"use one of {target.id}'s exports"
                findings.append(
                    fail(
                        f"{reference.dotted}: {spec.name} exports no `{name}`{hint}; {REFUSED}",
                        component.source.fix_in(change),
                        at=component.where(reference.line),
                    )
                )
    return findings


@check("alloy.schema", static=True, reads_user_files=True)
def alloy_schema(ctx: VerifyContext) -> CheckResult:
    schema = schema_of(ctx)
    # Custom components: `declare "name"` defines name; `import.file "ns"` (and friends) defines ns.*.
    declared = {
        component.block.label for component in ctx.files.alloy.components if component.block.dotted_name == "declare"
    }
    imported = {
        component.block.label for component in ctx.files.alloy.components if component.block.name[0] == "import"
    }
    findings: list[CheckResult] = []
    checked = 0
    for component in ctx.files.alloy.components:
        name = component.block.dotted_name
        spec = schema.components.get(name)
        if spec is None:
            root = name.split(".")[0]
            if root in schema.namespaces and root not in imported and name not in declared | CONFIG_BLOCKS:
                suggestion = closest(name, schema.components)
                hint = f"; did you mean `{suggestion}`?" if suggestion else ""
                findings.append(
                    fail(
                        f"no component `{name}` in Alloy {schema.alloy_version}{hint}; {REFUSED}",
                        component.source.fix_in(f"rename it to {suggestion}" if suggestion else f"remove {name}"),
                        at=component.where(),
                    )
                )
            continue
        if component.block.label is None:
            findings.append(
                fail(
                    f'{name} has no label; every component needs one ({name} "default" {{ … }}); {REFUSED}',
                    component.source.fix_in(f'give it a label: {name} "default" {{'),
                    at=component.where(),
                )
            )
        body = schema.body(spec.arguments)
        if body is None:
            continue
        checked += 1
        findings += body_findings(schema, component.block.body, body, Place(component, ()), component.block.line)
    findings += export_findings(ctx.files.alloy, schema)
    return conclude(
        findings,
        f"{checked} components accept every attribute and block given, with values of the right type, and "
        "export what is referenced "
        f"({version_note(ctx, schema)})",
    )
