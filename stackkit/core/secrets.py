"""Secrets the stack generates and keeps: Phoenix's secrets, its UI admin's password, its ingestion API key,
PostgreSQL's password.

They live in `<state>/secrets.env` (mode 0600, git-ignored) and are never printed: where a user must tell
keys apart, `fingerprint()` shows a short hash instead.
"""

from __future__ import annotations

import hashlib
import secrets as random_source
import string

from stackkit.core import envfile
from stackkit.core.settings import Settings

GENERATED_LENGTH = 40
_ALPHABET = string.ascii_letters + string.digits
# Phoenix's default admin (admin@localhost) gets this password when its store is first created.
ADMIN_PASSWORD = "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD"
# "_" is the one special character Phoenix's strong password policy accepts that no shell, env file or URL
# treats specially: the password passes PHOENIX_ENABLE_STRONG_PASSWORD_POLICY=true too.
_PASSWORD_ALPHABET = _ALPHABET + "_"


def fingerprint(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:10]


def generate_secret() -> str:
    """Phoenix's rules: at least 32 characters with a digit and a lowercase letter."""
    while True:
        candidate = "".join(random_source.choice(_ALPHABET) for _ in range(GENERATED_LENGTH))
        if any(c.isdigit() for c in candidate) and any(c.islower() for c in candidate):
            return candidate


def generate_password() -> str:
    """The secrets' rules, plus an uppercase letter and "_" (Phoenix's strong password policy)."""
    while True:
        candidate = "".join(random_source.choice(_PASSWORD_ALPHABET) for _ in range(GENERATED_LENGTH))
        if (
            any(c.isdigit() for c in candidate)
            and any(c.islower() for c in candidate)
            and any(c.isupper() for c in candidate)
            and "_" in candidate
        ):
            return candidate


def phoenix_secret_problems(settings: Settings) -> list[str]:
    """Problems with secrets the user set in .env (generated ones always satisfy the rules)."""
    problems = []
    for name, value in (
        ("PHOENIX_SECRET", settings.phoenix_secret),
        ("PHOENIX_ADMIN_SECRET", settings.phoenix_admin_secret),
    ):
        if value and (len(value) < 32 or not any(c.isdigit() for c in value) or not any(c.islower() for c in value)):
            problems.append(f"{name}: must be at least 32 characters with a digit and a lowercase letter")
    if settings.phoenix_secret and settings.phoenix_secret == settings.phoenix_admin_secret:
        problems.append("PHOENIX_ADMIN_SECRET: must differ from PHOENIX_SECRET")
    return problems


def load(settings: Settings) -> dict[str, str]:
    return envfile.read(settings.secrets_file)


def save(settings: Settings, values: dict[str, str]) -> None:
    envfile.write(settings.secrets_file, values)


def ensure(settings: Settings) -> dict[str, str]:
    """The secrets this configuration needs: from .env when set there, else kept or generated here."""
    stored = load(settings)
    wanted: dict[str, str] = {}
    if settings.phoenix_enable_auth:
        wanted["PHOENIX_SECRET"] = settings.phoenix_secret
        wanted["PHOENIX_ADMIN_SECRET"] = settings.phoenix_admin_secret
        if not settings.phoenix_external_url:  # a Phoenix the stack does not run has its own admin
            wanted[ADMIN_PASSWORD] = ""
    if settings.phoenix_db == "postgres":
        wanted["POSTGRES_PASSWORD"] = settings.postgres_password
    changed = False
    for name, from_settings in wanted.items():
        if from_settings:
            stored[name] = from_settings
        elif not stored.get(name):
            stored[name] = generate_password() if name == ADMIN_PASSWORD else generate_secret()
            changed = True
    if changed or (wanted and not settings.secrets_file.exists()):
        save(settings, stored)
    return stored
