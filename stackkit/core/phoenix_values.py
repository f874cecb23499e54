"""Phoenix's pass-through settings (PHOENIX_* names the stack hands to Phoenix as they are) checked with the rules
Phoenix itself applies when it starts (its phoenix/config.py at the pinned version: `_bool_val`, `_int_val`,
`_float_val` and the bounds its getters assert). A value Phoenix would die on is refused before anything stops,
with every other bad setting, instead of bringing down a running stack (issue 32)."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def _boolean(value: str) -> str | None:
    return None if value.lower() in ("true", "false") else "true or false"


def _integer(low: int | None = None, high: int | None = None) -> Callable[[str], str | None]:
    wanted = (
        "a positive integer"
        if low == 1 and high is None
        else "an integer from 0 up"
        if low == 0 and high is None
        else f"an integer from {low} to {high}"
        if low is not None
        else "an integer"
    )

    def check(value: str) -> str | None:
        try:
            number = int(value)
        except ValueError:
            return wanted
        if (low is not None and number < low) or (high is not None and number > high):
            return wanted
        return None

    return check


def _number(positive: bool = False, percentage: bool = False) -> Callable[[str], str | None]:
    wanted = "a percentage from 0 to 100" if percentage else "a positive number" if positive else "a number"

    def check(value: str) -> str | None:
        try:
            number = float(value)
        except ValueError:
            return wanted
        if (positive and not number > 0) or (percentage and not 0 <= number <= 100):
            return wanted
        return None

    return check


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value.lower() in choices else "one of " + ", ".join(choices) + " (any case)"

    return check


# logging._nameToLevel without NOTSET, which Phoenix's _get_logging_level accepts.
_LEVEL_NAMES = ("CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG")


def _logging_level(value: str) -> str | None:
    # Phoenix's _get_logging_level: empty means its default; else a name of the logging module but NOTSET.
    levels = [name.lower() for name in _LEVEL_NAMES]
    return None if not value or value.lower() in levels else "one of " + ", ".join(levels) + " (any case)"


# Each typed variable of phoenix/config.py (20.26.1) and its rule; the others are free text or lists Phoenix
# parses leniently. A stack setting (stackkit.core.settings) is checked by its own parser and never passes through.
RULES: dict[str, Callable[[str], str | None]] = {
    **{
        name: _boolean
        for name in (
            "PHOENIX_AGENTS_DISABLE_BASH",
            "PHOENIX_AGENTS_DISABLE_GITHUB",
            "PHOENIX_AGENTS_DISABLE_WEB_ACCESS",
            "PHOENIX_AGENTS_ENABLE_MCP_CODE_MODE",
            "PHOENIX_AGENTS_FORCE_TRACING",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES",
            "PHOENIX_DANGEROUSLY_DISABLE_MIGRATIONS",
            "PHOENIX_DISABLE_AGENT_ASSISTANT",
            "PHOENIX_DISABLE_BASIC_AUTH",
            "PHOENIX_DISABLE_BRUTE_FORCE_LOGIN_PROTECTION",
            "PHOENIX_DISABLE_RATE_LIMIT",
            "PHOENIX_ENABLE_AUTH",
            "PHOENIX_ENABLE_MCP_CODE_MODE",
            "PHOENIX_ENABLE_MCP_SERVER",
            "PHOENIX_ENABLE_OAUTH2_AUTHORIZATION_SERVER",
            "PHOENIX_ENABLE_STRONG_PASSWORD_POLICY",
            "PHOENIX_LDAP_ALLOW_SIGN_UP",
            "PHOENIX_LDAP_TLS_VERIFY",
            "PHOENIX_LOG_SQL",
            "PHOENIX_MASK_INTERNAL_SERVER_ERRORS",
            "PHOENIX_POSTGRES_USE_AWS_IAM_AUTH",
            "PHOENIX_POSTGRES_USE_AZURE_MANAGED_IDENTITY",
            "PHOENIX_SMTP_VALIDATE_CERTS",
            "PHOENIX_TELEMETRY_ENABLED",
            "PHOENIX_TLS_ENABLED",
            "PHOENIX_TLS_ENABLED_FOR_GRPC",
            "PHOENIX_TLS_ENABLED_FOR_HTTP",
            "PHOENIX_TLS_VERIFY_CLIENT",
            "PHOENIX_USE_SECURE_COOKIES",
        )
    },
    "PHOENIX_MAX_SPANS_QUEUE_SIZE": _integer(low=1),
    "PHOENIX_OAUTH2_DCR_RATE_LIMIT_PER_HOUR": _integer(low=1),
    "PHOENIX_BRUTE_FORCE_LOGIN_PROTECTION_MAX_ATTEMPTS": _integer(),
    "PHOENIX_DEFAULT_RETENTION_POLICY_DAYS": _integer(low=0),
    "PHOENIX_SMTP_PORT": _integer(low=1, high=65535),
    "PHOENIX_LDAP_PORT": _integer(),
    "PHOENIX_ACCESS_TOKEN_EXPIRY_MINUTES": _number(positive=True),
    "PHOENIX_REFRESH_TOKEN_EXPIRY_MINUTES": _number(positive=True),
    "PHOENIX_PASSWORD_RESET_TOKEN_EXPIRY_MINUTES": _number(positive=True),
    "PHOENIX_OAUTH2_GRANT_EXPIRY_DAYS": _number(positive=True),
    "PHOENIX_DATABASE_ALLOCATED_STORAGE_CAPACITY_GIBIBYTES": _number(positive=True),
    "PHOENIX_DATABASE_USAGE_EMAIL_WARNING_THRESHOLD_PERCENTAGE": _number(percentage=True),
    "PHOENIX_DATABASE_USAGE_INSERTION_BLOCKING_THRESHOLD_PERCENTAGE": _number(percentage=True),
    "PHOENIX_LOGGING_MODE": _one_of("default", "structured"),
    "PHOENIX_LOGGING_LEVEL": _logging_level,
    "PHOENIX_DB_LOGGING_LEVEL": _logging_level,
}


def problems(passthrough: Mapping[str, str]) -> list[str]:
    """One line per pass-through value Phoenix would refuse to start with, naming it and what it takes."""
    found = []
    for name, value in sorted(passthrough.items()):
        rule = RULES.get(name)
        wanted = rule(value.strip()) if rule else None  # Phoenix strips the value (its getenv)
        if wanted:
            found.append(f"{name}={value!r}: Phoenix refuses to start with it: expected {wanted}")
    return found
