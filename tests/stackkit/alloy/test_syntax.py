"""The Alloy parser against grafana/alloy's scanner and parser rules, and against examples from its docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackkit.alloy.syntax import (
    UNKNOWN,
    Access,
    AlloySyntaxError,
    Array,
    Attribute,
    Binary,
    Block,
    Call,
    Identifier,
    Index,
    Literal,
    Object,
    Unary,
    evaluate,
    function_name,
    is_valid_identifier,
    iter_attributes,
    iter_blocks,
    parse,
    parse_expression,
    parse_file,
    reads_env,
    references,
    walk,
)

EXAMPLES = Path(__file__).parents[1] / "alloy_examples"


def syntax_error(source: str) -> AlloySyntaxError:
    with pytest.raises(AlloySyntaxError) as raised:
        parse(source, "test.alloy")
    return raised.value


# ---------------------------------------------------------------------------------------------------
# Expressions: syntax/parser/parser_test.go, TestParseExpressions


@pytest.mark.parametrize(
    "source",
    [
        "10",
        "15.0",
        '"Hello, world!"',
        "some_ident",
        "null",
        "true",
        "false",
        "[]",
        "[1]",
        "[0, 1, 2, 3]",
        "[0, 1, 2, 3,]",
        "[[0, 1, 2], [3, 4, 5]]",
        "[\n\t\t\t0,\n\t\t\t1,\n\t\t\t2,\n\t\t]",
        "{}",
        "{ field_a = 5 }",
        "{ field_a = 5, field_b = 10 }",
        "{ field_a = 5, field_b = 10, }",
        "{ field_a = { nested_field = 100 } }",
        "{\n\t\t\tfield_a = 5,\n\t\t\tfield_b = 10,\n\t\t}",
        "!true",
        "-5",
        "1 + 2 - 3 * 4 / 5 % 6",
        "1 == 2 != 3 < 4 > 5 <= 6 >= 7",
        "true || false && true",
        "1 ^ 2 ^ 3",
        "a.b.c.d",
        "a[0][1][2]",
        "a()",
        "a(1)",
        "a(1,2,3)",
        "a(1,2,3,)",
        "a(\n\t\t\t1,\n\t\t\t2,\n\t\t\t3,\n\t\t)",
        "(1 + 5) * 100",
        "(a.b.c)(1, 3 * some_list[magic_index * 2]).resulting_field",
        ".5e-3",
        "1e10",
    ],
)
def test_expressions_alloy_accepts_parse(source: str) -> None:
    parse_expression(source)


def test_precedence_follows_alloy() -> None:
    # || < && < comparisons < + - < * / % < ^ (right-associative), unary binds tightest.
    expr = parse_expression("a || b && c == d + e * f ^ g ^ h")
    assert isinstance(expr, Binary) and expr.op == "||"
    and_expr = expr.right
    assert isinstance(and_expr, Binary) and and_expr.op == "&&"
    equality = and_expr.right
    assert isinstance(equality, Binary) and equality.op == "=="
    addition = equality.right
    assert isinstance(addition, Binary) and addition.op == "+"
    product = addition.right
    assert isinstance(product, Binary) and product.op == "*"
    power = product.right
    assert isinstance(power, Binary) and power.op == "^"
    assert isinstance(power.right, Binary) and power.right.op == "^"  # g ^ (h ...) : right-associative


def test_same_precedence_is_left_associative() -> None:
    expr = parse_expression("1 - 2 - 3")
    assert isinstance(expr, Binary) and isinstance(expr.left, Binary)
    assert evaluate(parse_expression('"a" + "b" + "c"')) == "abc"


def test_unary_access_index_and_call_nodes() -> None:
    expr = parse_expression("-a.b[0](x)")
    assert isinstance(expr, Unary) and expr.op == "-"
    call = expr.value
    assert isinstance(call, Call) and isinstance(call.function, Index)
    assert isinstance(call.function.value, Access) and call.function.value.name == "b"
    assert isinstance(call.args[0], Identifier)


def test_literal_values() -> None:
    assert [evaluate(parse_expression(s)) for s in ("10", "1.5", "true", "false", "null")] == [
        10,
        1.5,
        True,
        False,
        None,
    ]


# ---------------------------------------------------------------------------------------------------
# Strings and comments (syntax/scanner/scanner.go)


def test_escapes_decode_like_go() -> None:
    assert evaluate(parse_expression(r'"\a\b\f\n\r\t\v\\\""')) == '\a\b\f\n\r\t\v\\"'
    assert evaluate(parse_expression(r'"\101\x42\u00e9\U0001F600"')) == "AB\u00e9\U0001f600"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (r'x = "\q"', "unknown escape sequence"),
        (r'x = "\x4"', "illegal character U+0022"),
        (r'x = "\uD800"', "invalid Unicode code point"),
        (r'x = "\400"', "invalid Unicode code point"),
        ('x = "open', "string literal not terminated"),
        ('x = "line\nbreak"', "string literal not terminated"),
        ("x = 'single'", "illegal single-quoted string; use double quotes"),
        ("x = 1e", "exponent has no digits"),
        ("x = 1 | 2", "missing second | in ||"),
    ],
)
def test_bad_literals_are_errors(source: str, message: str) -> None:
    assert message in syntax_error(source).message


def test_raw_strings_span_lines_without_escapes() -> None:
    file = parse("x = `first\\n\nsecond`\ny = 1\n")
    x, y = file.body
    assert isinstance(x, Attribute) and evaluate(x.value) == "first\\n\nsecond"
    assert isinstance(y, Attribute) and y.line == 3


def test_comments_are_skipped_and_hash_is_not_a_comment() -> None:
    file = parse("// line\na = 1 // trailing\n/* block\n spanning */ b = 2 /* inline */\n")
    assert [stmt.name for stmt in file.body] == ["a", "b"]  # type: ignore[union-attr]
    error = syntax_error("# not a comment\n")
    assert (error.line, error.col) == (1, 1)
    assert "illegal character U+0023" in error.message


def test_unterminated_block_comment() -> None:
    assert "block comment not terminated" in syntax_error("a = 1\n/* never closed\n").message


# ---------------------------------------------------------------------------------------------------
# Newlines end statements (the scanner inserts a terminator after IDENT, literals, ) ] })


def test_block_brace_must_be_on_the_name_line() -> None:
    error = syntax_error('otelcol.processor.batch "default"\n{\n}\n')
    assert error.line == 1
    assert "must be on the same line as its name" in error.message
    error = syntax_error("logging\n{\n}\n")
    assert error.line == 1


def test_multi_line_array_needs_a_trailing_comma() -> None:
    parse("a = [\n  1,\n  2,\n]\n")
    error = syntax_error("a = [\n  1,\n  2\n]\n")
    assert error.line == 3
    assert "missing ',' in expression list" in error.message
    assert "needs a comma after its last element" in error.message


def test_multi_line_object_needs_a_trailing_comma() -> None:
    parse('headers = {\n  "authorization" = "Bearer " + sys.env("KEY"),\n}\n')
    error = syntax_error('headers = {\n  "authorization" = "x"\n}\n')
    assert error.line == 2
    assert "missing ',' in field list" in error.message


def test_operators_continue_onto_the_next_line_but_operands_do_not() -> None:
    assert evaluate(parse('a = "x" +\n  "y"\n').body[0].value) == "xy"  # type: ignore[union-attr]
    assert syntax_error('a = "x"\n  + "y"\n').line == 2


def test_statements_on_one_line_need_a_newline_between_them() -> None:
    parse("a { b = 1 }\n")
    assert "expected newline" in syntax_error("a = 1 b = 2\n").message


def test_a_file_may_end_without_a_newline_and_may_start_with_a_bom() -> None:
    assert parse("\ufeffa = 1").body


# ---------------------------------------------------------------------------------------------------
# Blocks, attributes and labels


def test_block_names_labels_and_bodies() -> None:
    file = parse('otelcol.receiver.otlp "default" {\n  grpc {\n    endpoint = "0.0.0.0:4317"\n  }\n}\n')
    (block,) = file.blocks
    assert block.name == ("otelcol", "receiver", "otlp")
    assert block.label == "default"
    assert block.component_id == "otelcol.receiver.otlp.default"
    assert (block.line, block.col) == (1, 1)
    grpc = block.block("grpc")
    assert isinstance(grpc, Block) and grpc.label is None
    endpoint = grpc.attribute("endpoint")
    assert isinstance(endpoint, Attribute) and endpoint.line == 3 and evaluate(endpoint.value) == "0.0.0.0:4317"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('block "my-label" {}\n', "expected block label to be a valid identifier"),
        ('block "true" {}\n', "expected block label to be a valid identifier"),
        ("block `raw` {}\n", "expected block label to be a double quoted string"),
        ('attr "label" = 1\n', "attribute names may not have labels"),
        ("a.b = 1\n", 'attribute names may only consist of a single identifier with no "."'),
        ("a = {}\nb = a {}\n", "cannot use a block as an expression"),
        ("= 1\n", "expected identifier"),
        ("a = \n", "expected expression"),
        ("a {\n", "expected }, got EOF"),
    ],
)
def test_statement_errors(source: str, message: str) -> None:
    assert message in syntax_error(source).message


def test_valid_identifiers() -> None:
    assert is_valid_identifier("phoenix") and is_valid_identifier("_x9")
    assert not any(map(is_valid_identifier, ["", "9x", "a-b", "a.b", "null"]))


def test_errors_carry_path_line_and_column() -> None:
    error = syntax_error("a {\n  b = [1,\n  2\n  ]\n}\n")
    assert (error.path, error.line) == ("test.alloy", 3)
    assert str(error).startswith("test.alloy:3:")


# ---------------------------------------------------------------------------------------------------
# The docs' own examples


def test_doc_example_receiver_batch_exporter() -> None:
    file = parse_file(EXAMPLES / "otelcol.receiver.otlp.alloy")
    assert [block.component_id for block in file.blocks] == [
        "otelcol.receiver.otlp.default",
        "otelcol.processor.batch.default",
        "otelcol.exporter.otlphttp.default",
    ]
    receiver = file.blocks[0]
    assert receiver.block("http") is not None and receiver.block("grpc") is not None
    output = receiver.block("output")
    assert output is not None
    traces = output.attribute("traces")
    assert traces is not None
    assert [ref.dotted for ref in references(traces.value)] == ["otelcol.processor.batch.default.input"]
    endpoint = file.blocks[2].block("client").attribute("endpoint")  # type: ignore[union-attr]
    assert evaluate(endpoint.value, {"OTLP_ENDPOINT": "http://tempo:4318"}) == "http://tempo:4318"  # type: ignore[union-attr]


def test_doc_example_exporter_with_tls() -> None:
    (exporter,) = parse_file(EXAMPLES / "otelcol.exporter.otlphttp.alloy").blocks
    tls = exporter.block("client").block("tls")  # type: ignore[union-attr]
    assert tls is not None
    assert evaluate(tls.attribute("insecure").value) is True  # type: ignore[union-attr]


def test_doc_example_batching_by_metadata() -> None:
    file = parse_file(EXAMPLES / "otelcol.processor.batch.alloy")
    assert [block.component_id for block in file.blocks] == [
        "otelcol.receiver.jaeger.default",
        "otelcol.processor.batch.default",
        "otelcol.exporter.otlp.production",
    ]
    nested = [block.dotted_name for block in iter_blocks(file.body)]
    assert nested[:6] == [
        "otelcol.receiver.jaeger",
        "protocols",
        "grpc",
        "thrift_http",
        "thrift_binary",
        "thrift_compact",
    ]
    batch = file.blocks[1]
    assert evaluate(batch.attribute("metadata_keys").value) == ["tenant_id"]  # type: ignore[union-attr]


def test_doc_example_remote_write_and_scrape() -> None:
    file = parse_file(EXAMPLES / "prometheus.remote_write.alloy")
    assert [block.component_id for block in file.blocks] == [
        "prometheus.remote_write.staging",
        "prometheus.scrape.demo",
        "prometheus.remote_write.default",
    ]
    scrape = file.blocks[1]
    targets = scrape.attribute("targets")
    assert targets is not None and isinstance(targets.value, Array)
    assert evaluate(targets.value) == [{"__address__": "127.0.0.1:12345"}]
    forward_to = scrape.attribute("forward_to")
    assert [ref.dotted for ref in references(forward_to.value)] == [  # type: ignore[union-attr]
        "prometheus.remote_write.staging.receiver"
    ]
    names = [attribute.name for attribute in iter_attributes(file.blocks[2].body)]
    assert names == ["url", "username", "password"]


def test_syntax_testdata_invalid_object_key() -> None:
    with pytest.raises(AlloySyntaxError) as raised:
        parse_file(EXAMPLES / "invalid_object_key.alloy")
    assert raised.value.line == 6
    assert raised.value.message == "expected field name (string or identifier), got NUMBER"


def test_the_shipped_config_parses() -> None:
    repo_config = Path(__file__).resolve().parents[3] / "stacks" / "grafana-alloy" / "config.alloy"
    file = parse_file(repo_config)
    assert "otelcol.receiver.otlp.default" in [block.component_id for block in file.blocks]


# ---------------------------------------------------------------------------------------------------
# References and evaluation


def test_references_are_identifier_chains_and_calls_are_not() -> None:
    expr = parse_expression(
        '[otelcol.exporter.otlphttp.phoenix.input, sys.env("X"), a.b[0].c, f(x.y), coalesce(z, "d")]'
    )
    assert [ref.dotted for ref in references(expr)] == [
        "otelcol.exporter.otlphttp.phoenix.input",
        "a.b",
        "x.y",
        "z",
    ]
    first = references(expr)[0]
    assert (first.line, first.col) == (1, 2)


def test_function_names_and_env_reads() -> None:
    calls = [node for node in walk(parse_expression('coalesce(sys.env("A"), env("B"))')) if isinstance(node, Call)]
    assert [function_name(call) for call in calls] == ["coalesce", "sys.env", "env"]
    expr = parse_expression('"Bearer " + sys.env("PHOENIX_API_KEY")')
    assert reads_env(expr, "PHOENIX_API_KEY") and not reads_env(expr, "OTHER")


def test_sys_env_is_unknown_without_an_environment() -> None:
    expr = parse_expression('"0.0.0.0:" + coalesce(sys.env("PORT"), "4317")')
    assert evaluate(expr) is UNKNOWN
    assert evaluate(expr, {}) == "0.0.0.0:4317"
    assert evaluate(expr, {"PORT": "9000"}) == "0.0.0.0:9000"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('coalesce("", "b")', "b"),
        ('coalesce(null, 0, false, [], {}, "last")', "last"),
        ('coalesce("", "")', ""),
        ("coalesce()", None),
        ('coalesce(["x"], "b")', ["x"]),
        ("coalesce(0, 3)", 3),
    ],
)
def test_coalesce_skips_zero_values_like_alloy(source: str, expected: object) -> None:
    assert evaluate(parse_expression(source), {}) == expected


def test_what_cannot_be_known_is_unknown() -> None:
    env = {"A": "a"}
    assert evaluate(parse_expression("otelcol.processor.batch.x.input"), env) is UNKNOWN
    assert evaluate(parse_expression('string.join(["a"], ",")'), env) is UNKNOWN
    assert evaluate(parse_expression('"a" + 1'), env) is UNKNOWN
    assert evaluate(parse_expression('coalesce(foo, "b")'), env) is UNKNOWN
    assert evaluate(parse_expression('{ "k" = sys.env("A"), n = [1, x] }'), env) == {
        "k": "a",
        "n": [1, UNKNOWN],
    }
    assert evaluate(parse_expression("-2 + 3"), env) == 1
    assert isinstance(parse_expression("{ a = 1 }"), Object)
    assert isinstance(parse_expression('"s"'), Literal)
