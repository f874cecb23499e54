"""What a setting is (`Spec`, `setting()`), the parsers that check each value, and SettingsError.

The settings themselves are the fields of `stackkit.core.setting_fields.Settings`; stackkit.core.settings reads them.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from stackkit.core.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(UsageError):
    """Every problem found in the settings, reported together."""

    def __init__(self, problems: list[str], source: str, fix: str = ""):
        self.problems = problems
        self.source = source
        self.fix = fix or "Fix them in your .env (see .env.example) or in the environment, then run again."
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"Invalid settings (read from {self.source} and the environment):"]
        lines += [f"  - {problem}" for problem in self.problems]
        lines.append(self.fix)
        return "\n".join(lines)


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise ValueError(f"one of {', '.join(allowed)}")
        return value

    return parse


def _port(raw: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()) or not 1 <= int(raw) <= 65535:
        raise ValueError("an integer port from 1 to 65535")
    return int(raw)


def _positive_int(raw: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()) or int(raw) < 1:
        raise ValueError("a whole number of at least 1")
    return int(raw)


def _non_negative_int(raw: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()):
        raise ValueError("a whole number of at least 0")
    return int(raw)


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a positive, finite number (seconds)") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("a positive, finite number (seconds)")
    return value


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("one of true, false, 1, 0, yes, no")


def _text(raw: str) -> str:
    return raw.strip()


def _bind_address(raw: str) -> str:
    value = raw.strip()
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(
            "an IPv4 address of this host: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
        ) from None
    return value


def _name(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
        raise ValueError("letters, digits, '_', '.', '-', starting with a letter or digit")
    return value


def _optional_url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value:
            return ""
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not parsed.hostname:
            raise ValueError(f"empty, or a URL starting with {' or '.join(s + '://' for s in schemes)}")
        try:
            parsed.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("a URL whose port is a number from 1 to 65535") from None
        return value

    return parse


def _optional_positive_float(raw: str) -> float | None:
    if not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("empty (off) or a positive number") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError("empty (off) or a positive number")
    return value


def _percentage(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a percentage from 1 to 100") from None
    if not 1 <= value <= 100:
        raise ValueError("a percentage from 1 to 100")
    return value


def _alert_percentage(raw: str) -> float:
    # An alert at 100 % fires only once the queue or store is already full, when nothing can be done in time.
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a percentage from 1 to below 100") from None
    if not 1 <= value < 100:
        raise ValueError("a percentage from 1 to below 100")
    return value


def _surge_factor(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("a factor above 1 (how many times the last day's rate)") from None
    if not (1 < value <= 1000):
        raise ValueError("a factor above 1 and at most 1000 (how many times the last day's rate)")
    return value


def _pem_file(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        raise ValueError("empty, or the path of an existing PEM file (the CA that signed the proxy's certificate)")
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise ValueError(f"a PEM file this user can read ({path}: {error.strerror})") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(
            f"a PEM file of CA certificates, but {path} holds no '-----BEGIN CERTIFICATE-----' block "
            "(a DER file converts with `openssl x509 -inform der -in CA.der -out CA.pem`)"
        )
    return str(path)


def _phoenix_base_url(raw: str) -> str:
    value = _optional_url("http", "https")(raw)
    if urlparse(value).path.rstrip("/").endswith("/v1/traces"):
        raise ValueError(
            "Phoenix's base URL (with its path prefix behind a proxy), without /v1/traces: the stack adds it"
        )
    return value


# The on-disk queue's bound: past it a backlog outlasts what Phoenix can write back in a day (~150-200
# spans/s on SQLite: 16 GiB is 330k LLM spans of ~50 KiB, or millions of small ones) and the state folder's disk.
ALLOY_QUEUE_MIB_MAX = 16384


def _queue_mib(raw: str) -> int:
    value = _positive_int(raw)
    if value > ALLOY_QUEUE_MIB_MAX:
        raise ValueError(
            f"a whole number of MiB from 1 to {ALLOY_QUEUE_MIB_MAX} (16 GiB: more is a backlog Phoenix cannot "
            "write back in a day, on a disk the state folder shares)"
        )
    return value


def _semver(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise ValueError("a pinned release such as 20.26.1 (not 'latest')")
    return value


def _alloy_version(raw: str) -> str:
    value = raw.strip()
    if not re.fullmatch(r"v1\.\d+\.\d+", value):
        raise ValueError("a pinned Alloy 1.x release such as v1.18.1 (not 'latest')")
    return value


def _image(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._/:@-]*", value) or value.endswith(":latest"):
        raise ValueError("empty (derived from the version) or an image reference with a pinned tag")
    return value


# The components' names, as `restarts=` and the registry (stackkit.components.registry) use them.
PHOENIX_NAME, ALLOY_NAME, OTELCOL_NAME, AI_DEMO_NAME = "phoenix", "alloy", "otelcol", "ai-demo"
ALL_COMPONENTS = (PHOENIX_NAME, ALLOY_NAME, OTELCOL_NAME, AI_DEMO_NAME)
# The fan-outs between apps and Phoenix, of which STACK_COLLECTOR picks one: a change to their shared
# settings restarts whichever runs.
FAN_OUTS = (ALLOY_NAME, OTELCOL_NAME)


@dataclass(frozen=True)
class Spec:
    name: str
    default: str
    parse: Callable[[str], Any]
    help: str
    secret: bool = False
    restarts: tuple[str, ...] = ()  # components a change restarts (`invoke up` on a running stack)
    in_place: bool = True  # False: a running stack cannot take a change (another store, another runtime)


def setting(
    default: str,
    parse: Callable[[str], Any],
    help: str,
    *,
    secret: bool = False,
    restarts: tuple[str, ...] = (),
    in_place: bool = True,
) -> Any:
    """A field of Settings that is a user setting: the one place its default, parser, help, secrecy and
    the components a change to it restarts are declared."""
    spec = {
        "default": default,
        "parse": parse,
        "help": help,
        "secret": secret,
        "restarts": restarts,
        "in_place": in_place,
    }
    return field(repr=not secret, metadata={"setting": spec})
