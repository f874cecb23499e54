"""A small parser for Grafana Alloy's configuration syntax, and a tiny evaluator for what checks need.

No Python library parses Alloy, so this follows grafana/alloy's own scanner and parser
(`syntax/scanner/scanner.go`, `syntax/parser/internal.go`, `syntax/token/token.go`):

    File  = { Stmt NEWLINE }            Stmt  = Attr | Block
    Attr  = IDENT "=" Expr              Block = IDENT { "." IDENT } [ STRING ] "{" Body "}"
    Expr  = binary || && == != < <= > >= + - * / % ^ (by precedence), unary ! -, x.y, x[i], f(x)
    Primary = IDENT | STRING | NUMBER | FLOAT | true | false | null | "(" Expr ")" | Array | Object

Like Go, the scanner ends a statement at a newline that follows an identifier, a literal, `)`, `]` or
`}`. That is why a block's `{` must be on its name's line and a multi-line array or object needs a
trailing comma. The first error stops parsing: `AlloySyntaxError(path, line, col, message)`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from stackkit.core.errors import UsageError

# ---------------------------------------------------------------------------------------------------
# Errors and tokens


class AlloySyntaxError(UsageError):
    """Where the configuration stops being valid Alloy syntax (line and column are 1-based)."""

    def __init__(self, path: str, line: int, col: int, message: str):
        self.path = path
        self.line = line
        self.col = col
        self.message = message
        super().__init__(f"{path}:{line}:{col}: {message}")


IDENT, NUMBER, FLOAT, STRING, BOOL, NULL = "IDENT", "NUMBER", "FLOAT", "STRING", "BOOL", "NULL"
TERMINATOR, EOF = "TERMINATOR", "EOF"
KEYWORDS = {"true": BOOL, "false": BOOL, "null": NULL}

# From token.BinaryPrecedence; "^" is right-associative and handled apart.
BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}
SINGLE_CHARACTER_TOKENS = set("+-*%^{}()[],.")
ENDS_STATEMENT_AT_NEWLINE = {"}", ")", "]"}
SIMPLE_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT, STRING, ..., or the operator itself ("{", "==")
    text: str  # the source text (for STRING, the decoded value is in `value`)
    offset: int
    value: object = None


def _is_letter(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_identifier_character(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


def _is_ascii_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def is_valid_identifier(text: str) -> bool:
    """What Alloy accepts as a block label: an identifier that is not a keyword."""
    return (
        bool(text)
        and _is_letter(text[0])
        and all(_is_identifier_character(ch) for ch in text[1:])
        and text not in KEYWORDS
    )


# ---------------------------------------------------------------------------------------------------
# Scanner


class _Scanner:
    def __init__(self, source: str, path: str):
        self.source = source
        self.path = path
        self.offset = 1 if source.startswith("\ufeff") else 0
        self.insert_terminator = False
        self.line_starts = [0] + [index + 1 for index, ch in enumerate(source) if ch == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def error(self, offset: int, message: str) -> AlloySyntaxError:
        line, col = self.position(offset)
        return AlloySyntaxError(self.path, line, col, message)

    def char(self, offset: int) -> str:
        return self.source[offset] if offset < len(self.source) else ""

    def scan(self) -> Token:
        while True:
            self._skip_whitespace()
            start = self.offset
            ch = self.char(start)
            if ch == "":
                if self.insert_terminator:
                    self.insert_terminator = False
                    return Token(TERMINATOR, "\n", start)
                return Token(EOF, "", start)
            if _is_letter(ch):
                return self._identifier(start)
            if _is_ascii_digit(ch) or (ch == "." and _is_ascii_digit(self.char(start + 1))):
                return self._number(start)
            if ch == "/" and self.char(start + 1) in ("/", "*"):
                # A comment reaching the end of the line ends a statement like the newline would.
                if self.insert_terminator and self._comment_reaches_line_end(start):
                    self.insert_terminator = False
                    return Token(TERMINATOR, "\n", start)
                self._skip_comment(start)
                self.insert_terminator = False
                continue
            return self._punctuation(start, ch)

    def _skip_whitespace(self) -> None:
        while True:
            ch = self.char(self.offset)
            if ch in (" ", "\t", "\r") or (ch == "\n" and not self.insert_terminator):
                self.offset += 1
            else:
                return

    def _identifier(self, start: int) -> Token:
        end = start + 1
        while _is_identifier_character(self.char(end)):
            end += 1
        text = self.source[start:end]
        self.offset = end
        self.insert_terminator = True
        return Token(KEYWORDS.get(text, IDENT), text, start)

    def _number(self, start: int) -> Token:
        end = start
        kind = NUMBER
        while _is_ascii_digit(self.char(end)):
            end += 1
        if self.char(end) == ".":
            kind = FLOAT
            end += 1
            while _is_ascii_digit(self.char(end)):
                end += 1
        if self.char(end) in ("e", "E"):
            kind = FLOAT
            end += 1
            if self.char(end) in ("+", "-"):
                end += 1
            digits_start = end
            while _is_ascii_digit(self.char(end)):
                end += 1
            if end == digits_start:
                raise self.error(start, "exponent has no digits")
        text = self.source[start:end]
        self.offset = end
        self.insert_terminator = True
        value: object = int(text) if kind == NUMBER else float(text)
        return Token(kind, text, start, value)

    def _punctuation(self, start: int, ch: str) -> Token:
        self.offset = start + 1
        following = self.char(start + 1)
        if ch == "\n":  # Only reached when a terminator is due: skip_whitespace ate the others.
            self.insert_terminator = False
            return Token(TERMINATOR, "\n", start)
        if ch == '"':
            return self._quoted_string(start)
        if ch == "`":
            return self._raw_string(start)
        if ch == "'":
            raise self.error(start, "illegal single-quoted string; use double quotes")
        if ch in ("|", "&"):
            if following != ch:
                raise self.error(start + 1, f"missing second {ch} in {ch}{ch}")
            self.offset = start + 2
            self.insert_terminator = False
            return Token(ch + ch, ch + ch, start)
        if ch in ("!", "=", "<", ">"):
            kind = ch + "=" if following == "=" else ch
            self.offset = start + len(kind)
            self.insert_terminator = False
            return Token(kind, kind, start)
        if ch == "/" or ch in SINGLE_CHARACTER_TOKENS:
            self.insert_terminator = ch in ENDS_STATEMENT_AT_NEWLINE
            return Token(ch, ch, start)
        if ch == "\0":
            raise self.error(start, "illegal character NUL")
        if ch == "\ufeff":
            raise self.error(start, "illegal byte order mark")
        raise self.error(start, f"illegal character U+{ord(ch):04X} {ch!r}")

    def _comment_reaches_line_end(self, start: int) -> bool:
        offset = start
        while self.source.startswith(("//", "/*"), offset):
            if self.source.startswith("//", offset):
                return True
            close = self.source.find("*/", offset + 2)
            body_end = len(self.source) if close == -1 else close
            if close == -1 or "\n" in self.source[offset + 2 : body_end]:
                return True
            offset = close + 2
            while self.char(offset) in (" ", "\t", "\r"):
                offset += 1
            if self.char(offset) in ("", "\n"):
                return True
        return False

    def _skip_comment(self, start: int) -> None:
        if self.source.startswith("//", start):
            newline = self.source.find("\n", start)
            self.offset = len(self.source) if newline == -1 else newline
            return
        close = self.source.find("*/", start + 2)
        if close == -1:
            raise self.error(start, "block comment not terminated")
        self.offset = close + 2

    def _quoted_string(self, start: int) -> Token:
        decoded = bytearray()
        offset = start + 1
        while True:
            ch = self.char(offset)
            if ch in ("", "\n"):
                raise self.error(start, "string literal not terminated")
            offset += 1
            if ch == '"':
                break
            if ch == "\\":
                offset = self._escape(offset, decoded)
            else:
                decoded += ch.encode()
        self.offset = offset
        self.insert_terminator = True
        value = decoded.decode("utf-8", errors="replace")
        return Token(STRING, self.source[start:offset], start, value)

    def _escape(self, offset: int, decoded: bytearray) -> int:
        """Decode the escape whose character (after the backslash) is at offset; return the next offset."""
        ch = self.char(offset)
        if ch in SIMPLE_ESCAPES:
            decoded.append(SIMPLE_ESCAPES[ch])
            return offset + 1
        if ch in "01234567" and ch != "":
            digits_start, count, base, maximum = offset, 3, 8, 255
        elif ch in ("x", "u", "U"):
            digits_start = offset + 1
            count, base, maximum = {"x": (2, 16, 255), "u": (4, 16, 0x10FFFF), "U": (8, 16, 0x10FFFF)}[ch]
        else:
            message = "escape sequence not terminated" if ch == "" else "unknown escape sequence"
            raise self.error(offset, message)
        code = 0
        for digit_offset in range(digits_start, digits_start + count):
            digit = self.char(digit_offset)
            try:
                digit_value = int(digit, base)
            except ValueError:
                if digit == "":
                    raise self.error(offset, "escape sequence not terminated") from None
                raise self.error(offset, f"illegal character U+{ord(digit):04X} {digit!r} in escape sequence") from None
            code = code * base + digit_value
        if code > maximum or 0xD800 <= code < 0xE000:
            raise self.error(offset, "escape sequence is invalid Unicode code point")
        if ch in ("x", "0", "1", "2", "3", "4", "5", "6", "7"):
            decoded.append(code)  # \xNN and \NNN are single bytes, as in Go
        else:
            decoded += chr(code).encode()
        return digits_start + count

    def _raw_string(self, start: int) -> Token:
        close = self.source.find("`", start + 1)
        if close == -1:
            raise self.error(start, "string literal not terminated")
        self.offset = close + 1
        self.insert_terminator = True
        return Token(STRING, self.source[start : close + 1], start, self.source[start + 1 : close])


# ---------------------------------------------------------------------------------------------------
# Syntax tree


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool | None
    line: int
    col: int


@dataclass(frozen=True)
class Identifier:
    name: str
    line: int
    col: int


@dataclass(frozen=True)
class Access:
    value: Expr
    name: str
    line: int
    col: int


@dataclass(frozen=True)
class Index:
    value: Expr
    index: Expr
    line: int
    col: int


@dataclass(frozen=True)
class Call:
    function: Expr
    args: tuple[Expr, ...]
    line: int
    col: int


@dataclass(frozen=True)
class Unary:
    op: str
    value: Expr
    line: int
    col: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr
    line: int
    col: int


@dataclass(frozen=True)
class Array:
    elements: tuple[Expr, ...]
    line: int
    col: int


@dataclass(frozen=True)
class ObjectField:
    name: str
    value: Expr
    line: int
    col: int


@dataclass(frozen=True)
class Object:
    fields: tuple[ObjectField, ...]
    line: int
    col: int

    def field(self, name: str, *, ignore_case: bool = False) -> ObjectField | None:
        for candidate in self.fields:
            if candidate.name == name or (ignore_case and candidate.name.lower() == name.lower()):
                return candidate
        return None


Expr = Union[Literal, Identifier, Access, Index, Call, Unary, Binary, Array, Object]  # noqa: UP007


@dataclass(frozen=True)
class Attribute:
    name: str
    value: Expr
    line: int
    col: int


@dataclass(frozen=True)
class Block:
    name: tuple[str, ...]  # ("otelcol", "receiver", "otlp")
    label: str | None  # "default"; None when the block has no label
    body: tuple[Stmt, ...]
    line: int
    col: int

    @property
    def dotted_name(self) -> str:
        return ".".join(self.name)

    @property
    def component_id(self) -> str:
        """How other components reference this one: name and label, e.g. otelcol.receiver.otlp.default."""
        return f"{self.dotted_name}.{self.label}" if self.label else self.dotted_name

    def blocks(self, dotted_name: str) -> list[Block]:
        return [stmt for stmt in self.body if isinstance(stmt, Block) and stmt.dotted_name == dotted_name]

    def block(self, dotted_name: str) -> Block | None:
        found = self.blocks(dotted_name)
        return found[0] if found else None

    def attribute(self, name: str) -> Attribute | None:
        for stmt in self.body:
            if isinstance(stmt, Attribute) and stmt.name == name:
                return stmt
        return None


Stmt = Union[Attribute, Block]  # noqa: UP007


@dataclass(frozen=True)
class AlloyFile:
    path: str
    body: tuple[Stmt, ...]

    @property
    def blocks(self) -> list[Block]:
        return [stmt for stmt in self.body if isinstance(stmt, Block)]


# ---------------------------------------------------------------------------------------------------
# Parser


def _describe(token: Token) -> str:
    return "newline" if token.kind == TERMINATOR else token.kind


class _Parser:
    def __init__(self, source: str, path: str):
        self.scanner = _Scanner(source, path)
        self.token = self.scanner.scan()

    def next(self) -> None:
        self.token = self.scanner.scan()

    def position(self, token: Token) -> tuple[int, int]:
        return self.scanner.position(token.offset)

    def error(self, message: str, token: Token | None = None) -> AlloySyntaxError:
        return self.scanner.error((token or self.token).offset, message)

    def expect(self, kind: str) -> Token:
        token = self.token
        if token.kind != kind:
            raise self.error(f"expected {kind}, got {_describe(token)}")
        self.next()
        return token

    def parse_file(self) -> tuple[Stmt, ...]:
        return self.parse_body(until=EOF)

    def parse_body(self, until: str) -> tuple[Stmt, ...]:
        body: list[Stmt] = []
        while self.token.kind not in (until, EOF):
            body.append(self.parse_statement())
            if self.token.kind == until:
                break
            if self.token.kind != TERMINATOR:
                raise self.error(f"expected newline, got {_describe(self.token)}")
            self.next()
        return tuple(body)

    def parse_statement(self) -> Stmt:
        start = self.token
        line, col = self.position(start)
        name, label, label_token = self.parse_block_name()
        if self.token.kind == "=":
            if len(name) != 1:
                raise self.error('attribute names may only consist of a single identifier with no "."', start)
            if label_token is not None:
                raise self.error("attribute names may not have labels", label_token)
            self.next()
            return Attribute(name[0], self.parse_expression(), line, col)
        if self.token.kind == "{":
            self.next()
            body = self.parse_body(until="}")
            self.expect("}")
            return Block(name, label, body, line, col)
        got = _describe(self.token)
        if len(name) == 1 and label_token is None:
            message = f"expected attribute assignment or block body, got {got}"
        else:
            message = f"expected block body, got {got}"
        if self.token.kind == TERMINATOR:
            message += " (a block's { must be on the same line as its name)"
        raise self.error(message)

    def parse_block_name(self) -> tuple[tuple[str, ...], str | None, Token | None]:
        if self.token.kind != IDENT:
            raise self.error(f"expected identifier, got {_describe(self.token)}")
        name = [self.token.text]
        self.next()
        while self.token.kind == ".":
            self.next()
            if self.token.kind != IDENT:
                raise self.error(f"expected identifier, got {_describe(self.token)}")
            name.append(self.token.text)
            self.next()
        if self.token.kind in ("=", "{"):
            return tuple(name), None, None
        if self.token.kind == TERMINATOR:
            raise self.error(
                "expected attribute assignment or block body, got newline"
                " (a block's { must be on the same line as its name)"
            )
        if self.token.kind != STRING:
            raise self.error(f"expected block label, got {_describe(self.token)}")
        label_token = self.token
        if not label_token.text.startswith('"'):
            raise self.error(f"expected block label to be a double quoted string, but got {label_token.text}")
        label = str(label_token.value)
        if label and not is_valid_identifier(label):
            raise self.error(f"expected block label to be a valid identifier, but got {label!r}")
        self.next()
        return tuple(name), label, label_token

    def parse_expression(self) -> Expr:
        return self.parse_binary(1)

    def parse_binary(self, lowest_precedence: int) -> Expr:
        left = self.parse_power()
        while True:
            operator = self.token
            precedence = BINARY_PRECEDENCE.get(operator.kind, 0)
            if precedence < lowest_precedence:
                return left
            self.next()
            right = self.parse_binary(precedence + 1)
            left = Binary(operator.kind, left, right, *self.position(operator))

    def parse_power(self) -> Expr:
        left = self.parse_unary()
        if self.token.kind == "^":
            operator = self.token
            self.next()
            return Binary("^", left, self.parse_power(), *self.position(operator))
        return left

    def parse_unary(self) -> Expr:
        if self.token.kind in ("!", "-"):
            operator = self.token
            self.next()
            return Unary(operator.kind, self.parse_unary(), *self.position(operator))
        start = self.token
        expr = self.parse_primary()
        while True:
            token = self.token
            if token.kind == ".":
                self.next()
                name = self.expect(IDENT)
                expr = Access(expr, name.text, *self.position(name))
            elif token.kind == "[":
                self.next()
                index = self.parse_expression()
                self.expect("]")
                expr = Index(expr, index, *self.position(token))
            elif token.kind == "(":
                self.next()
                args = self.parse_expression_list(until=")") if self.token.kind != ")" else ()
                self.expect(")")
                expr = Call(expr, args, *self.position(token))
            elif token.kind in (STRING, "{"):
                # As Alloy's parser does: read the rest as a block, so that the first error is the one inside
                # it (a missing `{`, its body, a missing `}`) or else this one, at the value's start.
                if token.kind == STRING:
                    self.next()
                self.expect("{")
                self.parse_body(until="}")
                self.expect("}")
                raise self.error("cannot use a block as an expression", start)
            else:
                return expr

    def parse_primary(self) -> Expr:
        token = self.token
        line, col = self.position(token)
        if token.kind == IDENT:
            self.next()
            return Identifier(token.text, line, col)
        if token.kind in (STRING, NUMBER, FLOAT):
            self.next()
            return Literal(token.value, line, col)  # type: ignore[arg-type]
        if token.kind == BOOL:
            self.next()
            return Literal(token.text == "true", line, col)
        if token.kind == NULL:
            self.next()
            return Literal(None, line, col)
        if token.kind == "(":
            self.next()
            inner = self.parse_expression()
            self.expect(")")
            return inner
        if token.kind == "[":
            self.next()
            elements = self.parse_expression_list(until="]") if self.token.kind != "]" else ()
            self.expect("]")
            return Array(elements, line, col)
        if token.kind == "{":
            self.next()
            fields = self.parse_field_list() if self.token.kind != "}" else ()
            self.expect("}")
            return Object(fields, line, col)
        raise self.error(f"expected expression, got {_describe(token)}")

    def parse_expression_list(self, until: str) -> tuple[Expr, ...]:
        items: list[Expr] = []
        while self.token.kind not in (until, EOF):
            items.append(self.parse_expression())
            if self.token.kind == until:
                break
            if self.token.kind != ",":
                raise self.error("missing ',' in expression list" + self._trailing_comma_hint(until))
            self.next()
        return tuple(items)

    def parse_field_list(self) -> tuple[ObjectField, ...]:
        fields: list[ObjectField] = []
        while self.token.kind not in ("}", EOF):
            fields.append(self.parse_field())
            if self.token.kind == "}":
                break
            if self.token.kind != ",":
                raise self.error("missing ',' in field list" + self._trailing_comma_hint("}"))
            self.next()
        return tuple(fields)

    def parse_field(self) -> ObjectField:
        token = self.token
        if token.kind == IDENT:
            name = token.text
        elif token.kind == STRING:
            name = str(token.value)
        else:
            raise self.error(f"expected field name (string or identifier), got {_describe(token)}")
        self.next()
        self.expect("=")
        return ObjectField(name, self.parse_expression(), *self.position(token))

    def _trailing_comma_hint(self, closing: str) -> str:
        if self.token.kind != TERMINATOR:
            return ""
        return f" (a multi-line list needs a comma after its last element, before the closing {closing})"


def parse(source: str, path: str = "<string>") -> AlloyFile:
    """Parse a whole Alloy file; raise AlloySyntaxError at the first error."""
    return AlloyFile(path, _Parser(source, path).parse_file())


def parse_file(path: Path) -> AlloyFile:
    raw = path.read_bytes()
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = raw[: bad.start].count(b"\n") + 1
        col = bad.start - (raw.rfind(b"\n", 0, bad.start) + 1) + 1
        raise AlloySyntaxError(str(path), line, col, "illegal UTF-8 encoding") from None
    return parse(source, str(path))


def parse_expression(source: str, path: str = "<expression>") -> Expr:
    """Parse one expression that must make up the whole text."""
    parser = _Parser(source, path)
    expr = parser.parse_expression()
    if parser.token.kind not in (TERMINATOR, EOF):
        raise parser.error(f"unexpected {_describe(parser.token)} after the expression")
    return expr


# ---------------------------------------------------------------------------------------------------
# Walking the tree


def iter_blocks(body: tuple[Stmt, ...] | list[Stmt]) -> Iterator[Block]:
    """Every block, nested ones included, in source order."""
    for stmt in body:
        if isinstance(stmt, Block):
            yield stmt
            yield from iter_blocks(stmt.body)


def iter_attributes(body: tuple[Stmt, ...] | list[Stmt]) -> Iterator[Attribute]:
    """Every attribute, those of nested blocks included, in source order."""
    for stmt in body:
        if isinstance(stmt, Attribute):
            yield stmt
        else:
            yield from iter_attributes(stmt.body)


def _children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Access | Unary):
        return (expr.value,)
    if isinstance(expr, Index):
        return (expr.value, expr.index)
    if isinstance(expr, Call):
        return (expr.function, *expr.args)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Array):
        return expr.elements
    if isinstance(expr, Object):
        return tuple(field.value for field in expr.fields)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """The expression and every expression inside it."""
    yield expr
    for child in _children(expr):
        yield from walk(child)


def dotted_chain(expr: Expr) -> tuple[str, ...] | None:
    """("a", "b", "c") for `a.b.c`; None when the expression is not a plain identifier chain."""
    if isinstance(expr, Identifier):
        return (expr.name,)
    if isinstance(expr, Access):
        inner = dotted_chain(expr.value)
        return (*inner, expr.name) if inner else None
    return None


def function_name(call: Call) -> str | None:
    """ "sys.env" for `sys.env("X")`; None when the called value is not an identifier chain."""
    chain = dotted_chain(call.function)
    return ".".join(chain) if chain else None


@dataclass(frozen=True)
class Reference:
    path: tuple[str, ...]  # e.g. otelcol, exporter, otlphttp, <label>, input
    line: int
    col: int

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _root_position(expr: Expr) -> tuple[int, int]:
    while isinstance(expr, Access):
        expr = expr.value
    return expr.line, expr.col


def references(expr: Expr) -> list[Reference]:
    """The identifier chains an expression reads, such as otelcol.exporter.otlphttp.phoenix.input.

    Called chains (`sys.env` in `sys.env("X")`) are functions, not references: see function_name.
    """
    found: list[Reference] = []

    def visit(node: Expr, called: bool) -> None:
        chain = dotted_chain(node)
        if chain is not None:
            if not called:
                found.append(Reference(chain, *_root_position(node)))
            return
        if isinstance(node, Call):
            visit(node.function, called=True)
            for arg in node.args:
                visit(arg, called=False)
            return
        for child in _children(node):
            visit(child, called=False)

    visit(expr, called=False)
    return found


def reads_env(expr: Expr, variable: str) -> bool:
    """Whether the expression reads the environment variable (sys.env, or the deprecated env)."""
    for node in walk(expr):
        if isinstance(node, Call) and function_name(node) in ("sys.env", "env") and len(node.args) == 1:
            arg = node.args[0]
            if isinstance(arg, Literal) and arg.value == variable:
                return True
    return False


# ---------------------------------------------------------------------------------------------------
# Evaluating what the checks need


class _Unknown:
    """A value that cannot be known without running Alloy (or without the environment)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
Value = Union[str, int, float, bool, None, list, dict, _Unknown]  # noqa: UP007


def _is_zero(value: Value) -> bool:
    # coalesce skips Go's zero values: "", 0, false, and empty arrays and objects.
    if value is None or value is False or value == "":
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, list | dict) and not value


def _coalesce(args: list[Value]) -> Value:
    if not args:
        return None
    for arg in args:
        if arg is UNKNOWN:
            return UNKNOWN
        if not _is_zero(arg):
            return arg
    return args[-1]


def evaluate(expr: Expr, env: Mapping[str, str] | None = None) -> Value:
    """Literals, `+`, sys.env (from env; UNKNOWN when env is None), coalesce, arrays and objects.

    Anything else (component exports, other functions, comparisons) is UNKNOWN.
    """
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Array):
        return [evaluate(element, env) for element in expr.elements]
    if isinstance(expr, Object):
        return {field.name: evaluate(field.value, env) for field in expr.fields}
    if isinstance(expr, Unary):
        operand = evaluate(expr.value, env)
        if expr.op == "-" and isinstance(operand, int | float) and not isinstance(operand, bool):
            return -operand
        if expr.op == "!" and isinstance(operand, bool):
            return not operand
        return UNKNOWN
    if isinstance(expr, Binary) and expr.op == "+":
        left, right = evaluate(expr.left, env), evaluate(expr.right, env)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
        return left + right if numbers else UNKNOWN  # type: ignore[operator]
    if isinstance(expr, Call):
        name = function_name(expr)
        args = [evaluate(arg, env) for arg in expr.args]
        if name in ("sys.env", "env") and len(args) == 1 and isinstance(args[0], str):
            return UNKNOWN if env is None else env.get(args[0], "")
        if name == "coalesce":
            return _coalesce(args)
    return UNKNOWN
