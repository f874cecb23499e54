"""`invoke rotate-key`: a new ingestion key, what sends with it restarted, then the old key revoked."""

from __future__ import annotations

from stackkit.commands.down import restart
from stackkit.components import registry as components
from stackkit.core import secrets
from stackkit.core.errors import OperationFailed, UsageError
from stackkit.core.output import Printer
from stackkit.core.settings import Settings
from stackkit.phoenix import keys as auth
from stackkit.runtimes.render import render
from stackkit.stack import lifecycle
from stackkit.stack.lifecycle import is_healthy, make_plan, recorded_runtime, require_applied

_print = lifecycle.print_line


def rotate_key(settings: Settings, out: Printer = _print) -> None:
    """Mint a new ingestion key, restart what sends with it, then revoke the old key."""
    require_applied(settings)
    if not settings.phoenix_enable_auth:
        raise UsageError("PHOENIX_ENABLE_AUTH is false: there is no ingestion key to rotate")
    if settings.phoenix_api_key:
        raise UsageError(
            "PHOENIX_API_KEY is a key you gave: rotate it in the Phoenix that issued it, set the new one, "
            "then `invoke up`"
        )
    runtime = recorded_runtime(settings)
    if not is_healthy(settings, runtime, components.PHOENIX.name):
        raise OperationFailed("Phoenix is not running and healthy: run `invoke up` first")
    stored = secrets.load(settings)
    old_key, old_id = stored.get("PHOENIX_API_KEY", ""), stored.get("PHOENIX_API_KEY_ID", "")
    updated = auth.mint_replacement(settings, stored)
    out(f"minted ingestion key {secrets.fingerprint(updated['PHOENIX_API_KEY'])}")
    plan = make_plan(runtime)
    render(settings, plan, updated)
    # What sends straight to Phoenix holds the key: Alloy when it runs, otherwise the demo.
    for sender in components.senders():
        if sender.destination(plan) == components.PHOENIX.name and runtime.state(sender.name).running:
            # Natively one port has one listener: the new process binds it only once the old one has let go.
            out(
                f"{sender.name}: restarting with the new key; it refuses connections for about a second "
                "meanwhile (clients retry; see README, Tasks: rotate-key)"
            )
            restart(settings, sender.name, out)
    if old_id:
        auth.revoke(settings, updated, old_id)
        out(f"revoked the old key {secrets.fingerprint(old_key)}")
