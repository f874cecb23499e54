"""invoke tasks: thin wiring to stackkit.cli. `invoke --list` shows them; README has an example of each."""

from invoke import task

from stackkit import cli
from stackkit.components.registry import NAMES

# Named by the registry, so the help follows when a component is added.
COMPONENTS = ", ".join(NAMES[:-1]) + f" or {NAMES[-1]}"


@task(help={"runtime": "auto (default), docker or native", "only": f"comma-separated subset: {COMPONENTS}"})
def up(c, runtime=None, only=None):
    """Bring the stack up in order (Phoenix, Alloy, AI demo), each waited for until healthy."""
    cli.up(runtime, only)


@task(
    help={
        "volumes": "also delete stored traces (asks first)",
        "yes": "do not ask before deleting",
        "force": "stop Phoenix even when it cannot confirm every accepted span is written",
    }
)
def down(c, volumes=False, yes=False, force=False):
    """Stop the stack in reverse order (AI demo, Alloy, Phoenix); data is kept unless --volumes."""
    cli.down(volumes, yes, force)


@task(help={"service": COMPONENTS})
def restart(c, service):
    """Restart one component and wait until it is healthy again."""
    cli.restart(service)


@task
def status(c):
    """One row per component: runtime, state, health, URL, version."""
    cli.status()


@task(help={"service": COMPONENTS, "follow": "keep printing new lines", "tail": "lines to show first"})
def logs(c, service, follow=False, tail=100):
    """Print a component's logs, on either runtime."""
    cli.logs(service, follow, tail)


@task(
    help={
        "print": "print one piece and write nothing: phoenix-exporter (for an Alloy you run), otelcol-config (for "
        "a Collector you run), prometheus-rules, prometheus-scrape, grafana-dashboard (for your Prometheus and "
        "Grafana), app-env (the OTEL_* variables your app sends to the running stack with)",
        "show": "with --print app-env: the ingestion key's value instead of a placeholder",
    }
)
def render(c, print=None, show=False):
    """Render the .env-dependent pieces (Alloy pieces, env files) into the state folder and list them."""
    cli.render(print, show)


@task(help={"to": "the Phoenix release to run, such as 20.26.1"})
def upgrade(c, to):
    """Upgrade Phoenix: drain, back up, migrate on its own, start, verify; roll back on any failure."""
    cli.upgrade(to)


@task(help={"show": "also print the password and the secrets' values"})
def credentials(c, show=False):
    """The UI login (password only with --show), the ingestion key's fingerprint, where each secret lives."""
    cli.credentials(show)


@task
def rotate_key(c):
    """With auth on: mint a new ingestion key, restart what uses it, revoke the old one."""
    cli.rotate_key()


@task(
    name="eval",
    help={
        "since": "only chains started this recently: 30m, 1h, 2d (default 1h)",
        "limit": "evaluate at most this many of the most recent chains (default 200)",
        "json": "print the pass rates as JSON only",
        "wait": "seconds to wait for demo spans still on their way to Phoenix (default 10; 0: do not wait)",
    },
)
def evaluate(c, since="1h", limit=200, json=False, wait=10.0):
    """Score recent demo chains (answered, latency, tool_ok) and store the scores as span annotations."""
    cli.evaluate(since, limit, json, wait)


@task(
    help={
        "requests": "how many /chat requests",
        "sessions": "spread over this many session ids",
        "concurrency": "requests in flight at once",
        "fail_ratio": "share of requests whose tool calls all time out (0 to 1)",
        "save": "also write the report as JSON to this file",
    }
)
def traffic(c, requests=20, sessions=3, concurrency=4, fail_ratio=0.0, save=None):
    """Drive the running demo; print successes, p50/p95 latency and the trace ids produced."""
    cli.traffic(requests, sessions, concurrency, fail_ratio, save)


@task(
    help={
        "static": "only the checks that need nothing running",
        "json": "print only a JSON list",
        "alloy-config": "with --static: check your own Alloy file or folder instead (repeatable)",
        "alloy-stability-level": "with --alloy-config: the --stability.level your Alloy runs with "
        "(default generally-available)",
    },
    iterable=["alloy_config"],
)
def verify(c, static=False, json=False, alloy_config=None, alloy_stability_level=None):
    """Diagnose every known silent failure; prove a canary span reaches Phoenix. Exit 1 if a check failed."""
    cli.verify(static, json, alloy_config, alloy_stability_level)


@task(
    help={
        "output": "file to write (default: a timestamped file in the state folder's backups/)",
        "force": "overwrite an existing file",
    }
)
def backup(c, output=None, force=False):
    """Copy Phoenix's data to a file: SQLite's online backup, or pg_dump for PostgreSQL."""
    cli.backup(output, force)


@task(help={"input": "a file written by `invoke backup`", "force": "overwrite a store that already holds traces"})
def restore(c, input, force=False):
    """Load Phoenix's data from a backup file; refuses a non-empty store without --force."""
    cli.restore(input, force)


@task(help={"output": "PNG file to write (default docs/trace-view.png)"})
def screenshot(c, output="docs/trace-view.png"):
    """Screenshot the demo's latest trace in the Phoenix UI (headless chromium), e.g. for the README."""
    cli.screenshot(output)
