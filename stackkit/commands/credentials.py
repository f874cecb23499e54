"""`invoke credentials`: how to log in to Phoenix's UI and where each secret lives, values only on request."""

from __future__ import annotations

from stackkit.core import secrets
from stackkit.core.settings import Settings
from stackkit.phoenix import admin

# What each kept secret is for, in the order shown.
DESCRIPTIONS = {
    secrets.ADMIN_PASSWORD: "UI password of admin@localhost",
    "PHOENIX_SECRET": "Phoenix's token-signing secret",
    "PHOENIX_ADMIN_SECRET": "bearer token of Phoenix's system admin (REST API)",
    "PHOENIX_API_KEY": "ingestion key Alloy (or the demo) sends with",
    "POSTGRES_PASSWORD": "password of the docker PostgreSQL",
}


def lines(settings: Settings, show: bool) -> list[str]:
    """What `invoke credentials [--show]` prints; secret values only with show."""
    stored = secrets.load(settings)
    where = settings.secrets_file
    if settings.phoenix_external_url:
        out = [f"Phoenix UI:  {settings.phoenix_url} (not run by this stack: log in with that Phoenix's own users)"]
    elif not settings.phoenix_enable_auth:
        out = [f"Phoenix UI:  {settings.phoenix_url} (PHOENIX_ENABLE_AUTH=false: no login, see docs/security.md)"]
    else:
        password = stored.get(secrets.ADMIN_PASSWORD, "")
        if not password:
            shown = "not generated yet: run `invoke up`"
        elif show:
            shown = password
        else:
            shown = f"(hidden, {secrets.fingerprint(password)}; --show prints it)"
        out = [
            f"Phoenix UI:  {settings.phoenix_url}",
            f"  email:     {admin.ADMIN_EMAIL}",
            f"  password:  {shown}",
        ]
    key = stored.get("PHOENIX_API_KEY", "")
    if key:
        out.append(f"Ingestion key: {secrets.fingerprint(key)} (id {stored.get('PHOENIX_API_KEY_ID', '?')})")
    kept = [name for name in DESCRIPTIONS if stored.get(name)]
    if kept:
        out.append(f"Secrets, in {where} (mode 0600) and the rendered env files in {settings.rendered_dir / 'env'}:")
        for name in kept:
            value = stored[name] if show else secrets.fingerprint(stored[name])
            out.append(f"  {name:<40} {value}  ({DESCRIPTIONS[name]})")
    else:
        out.append(f"No secrets kept yet in {where}: `invoke up` generates them when auth is on.")
    return out
