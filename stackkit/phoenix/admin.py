"""Phoenix's UI admin (admin@localhost) with auth on: never the well-known default password.

Phoenix creates that admin with PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD, or `admin` when it is unset, only
when its store is first created (phoenix/db/facilitator.py), and flags it to choose a new password at its
first UI login. The stack generates the password (secrets.env), so the flag is cleared: the stored password
is the one that logs in, and `invoke credentials --show` stays true. A store created before the stack set
the password still answers to admin/admin: `invoke up` changes it, through Phoenix's own GraphQL
`patchViewer` (the current password, then the new one), to the generated one.

Phoenix locks an email for 5 minutes after 5 failed logins in 5 minutes, so the stored password is always
tried first: a success clears the failures, and admin/admin is only tried when the stored one fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import requests

from stackkit.core.errors import OperationFailed
from stackkit.core.secrets import ADMIN_PASSWORD
from stackkit.core.settings import Settings

ADMIN_EMAIL = "admin@localhost"
DEFAULT_PASSWORD = "admin"
TIMEOUT_S = 10.0
_VIEWER = "query { viewer { passwordNeedsReset } }"
_PATCH_VIEWER = (
    "mutation($current: String!, $new: String!) "
    "{ patchViewer(input: {currentPassword: $current, newPassword: $new}) { __typename } }"
)


class AdminLoginError(OperationFailed):
    """Phoenix refused or throttled what the stack asked of it; the message says what to do."""


class Password(str, Enum):
    """Which password logs the admin in."""

    STORED = "stored"  # the one in secrets.env
    DEFAULT = "default"  # admin: anyone who knows Phoenix reads every trace
    OTHER = "other"  # neither: changed by someone in the UI


@dataclass(frozen=True)
class AdminState:
    password: Password
    needs_reset: bool  # Phoenix sends the admin to "choose a new password" at the next UI login


def login(settings: Settings, password: str) -> requests.Session | None:
    """A session holding Phoenix's cookies when the admin logs in with `password`, else None."""
    if not password:
        return None
    session = requests.Session()
    response = session.post(
        f"{settings.phoenix_url}/auth/login",
        json={"email": ADMIN_EMAIL, "password": password},
        timeout=TIMEOUT_S,
    )
    if response.status_code == 204:
        return session
    if response.status_code == 429:
        raise AdminLoginError(
            f"Phoenix throttles logins ({response.text[:120]}): wait a few minutes, then run this again"
        )
    return None


def _graphql(settings: Settings, session: requests.Session, query: str, variables: dict[str, str]) -> dict:
    response = session.post(
        f"{settings.phoenix_url}/graphql", json={"query": query, "variables": variables}, timeout=TIMEOUT_S
    )
    body = response.json() if response.content else {}
    if response.status_code != 200 or body.get("errors"):
        errors = "; ".join(error.get("message", "") for error in body.get("errors", [])) or response.text[:200]
        raise AdminLoginError(f"Phoenix's GraphQL answered HTTP {response.status_code}: {errors}")
    return body["data"]


def state(settings: Settings, stored_password: str) -> AdminState:
    """Which password logs the admin in now (at most two login attempts, the stored password first)."""
    session = login(settings, stored_password)
    if session is not None:
        return AdminState(Password.STORED, _needs_reset(settings, session))
    session = login(settings, DEFAULT_PASSWORD)
    if session is not None:
        return AdminState(Password.DEFAULT, _needs_reset(settings, session))
    return AdminState(Password.OTHER, False)


def _needs_reset(settings: Settings, session: requests.Session) -> bool:
    return bool(_graphql(settings, session, _VIEWER, {})["viewer"]["passwordNeedsReset"])


def _set_password(settings: Settings, current: str, new: str) -> None:
    session = login(settings, current)
    if session is None:
        raise AdminLoginError(f"{ADMIN_EMAIL} no longer logs in with the password it had a moment ago")
    _graphql(settings, session, _PATCH_VIEWER, {"current": current, "new": new})


def ensure(settings: Settings, stored: dict[str, str]) -> str:
    """Make the stored password the admin's, with no forced reset; returns what was found and done."""
    password = stored.get(ADMIN_PASSWORD, "")
    found = state(settings, password)
    if found.password is Password.DEFAULT:
        _set_password(settings, DEFAULT_PASSWORD, password)
        return (
            f"UI admin {ADMIN_EMAIL} still had the default password (a store created before the stack set "
            f"one): changed to the generated one (`invoke credentials --show`)"
        )
    if found.password is Password.OTHER:
        return (
            f"UI admin {ADMIN_EMAIL} logs in neither with the password in {settings.secrets_file} nor with "
            "admin/admin: its password was set outside this state folder (changed in Phoenix's UI, or the store "
            "was restored from another stack's backup without its .secrets.env file). Log in with that password, "
            f"or put it in {settings.secrets_file} as {ADMIN_PASSWORD} so `invoke credentials --show` prints it"
        )
    if found.needs_reset:
        # Phoenix would make the first UI login choose a new password: the generated one is already strong,
        # and a password chosen in the UI would leave secrets.env stale.
        _set_password(settings, password, password)
        return f"UI admin {ADMIN_EMAIL}: generated password set (`invoke credentials --show`)"
    return f"UI admin {ADMIN_EMAIL}: logs in with the generated password (`invoke credentials --show`)"
