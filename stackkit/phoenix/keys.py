"""Phoenix auth with no step in the UI: an ingestion key minted with the admin secret, kept, rotated."""

from __future__ import annotations

import time

import requests

from stackkit.core import secrets
from stackkit.core.settings import Settings
from stackkit.phoenix.api import PhoenixClient

INGEST_KEY_NAME = "stackkit-ingest"


def key_accepted(settings: Settings, key: str) -> bool:
    """Phoenix answers 401 to an unknown or revoked key on every authenticated route."""
    if not key:
        return False
    response = requests.get(
        f"{settings.phoenix_url}/v1/projects",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
        verify=settings.phoenix_tls_verify,
    )
    return response.status_code == 200


def _admin(settings: Settings, stored: dict[str, str]) -> PhoenixClient:
    """Key operations need the admin secret itself (the one just generated may not be saved yet)."""
    return PhoenixClient(settings.phoenix_url, token=stored["PHOENIX_ADMIN_SECRET"], verify=settings.phoenix_tls_verify)


def _mint(settings: Settings, stored: dict[str, str]) -> dict[str, str]:
    minted = _admin(settings, stored).create_system_key(
        INGEST_KEY_NAME, description=f"OTLP ingestion for Alloy and the demo, minted {time.strftime('%F %T')}"
    )
    return {**stored, "PHOENIX_API_KEY": minted.key, "PHOENIX_API_KEY_ID": minted.id}


def ensure_ingest_key(settings: Settings, stored: dict[str, str]) -> tuple[dict[str, str], str]:
    """Reuse the kept key while Phoenix accepts it, else mint one; returns the secrets and what happened."""
    if key_accepted(settings, stored.get("PHOENIX_API_KEY", "")):
        return stored, f"reusing ingestion key {secrets.fingerprint(stored['PHOENIX_API_KEY'])}"
    updated = _mint(settings, stored)
    secrets.save(settings, updated)
    return updated, f"minted ingestion key {secrets.fingerprint(updated['PHOENIX_API_KEY'])}"


def mint_replacement(settings: Settings, stored: dict[str, str]) -> dict[str, str]:
    """A new key, saved; the caller restarts what uses it and then revokes the old one."""
    updated = _mint(settings, stored)
    secrets.save(settings, updated)
    return updated


def revoke(settings: Settings, stored: dict[str, str], key_id: str) -> None:
    _admin(settings, stored).delete_system_key(key_id)
