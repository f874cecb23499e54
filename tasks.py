"""invoke tasks: thin wiring to stackkit.cli. `invoke --list` shows them; README has an example of each."""

from invoke import task

from stackkit import cli

COMPONENTS = "phoenix, alloy or ai-demo"


@task(help={"runtime": "auto (default), docker or native", "only": f"comma-separated subset: {COMPONENTS}"})
def up(c, runtime=None, only=None):
    """Bring the stack up in order (Phoenix, Alloy, AI demo), each waited for until healthy."""
    cli.up(runtime, only)


@task(help={"volumes": "also delete stored traces (asks first)", "yes": "do not ask before deleting"})
def down(c, volumes=False, yes=False):
    """Stop the stack in reverse order (AI demo, Alloy, Phoenix); data is kept unless --volumes."""
    cli.down(volumes, yes)


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


@task
def render(c):
    """Render the .env-dependent pieces (Alloy pieces, env files) into the state folder and list them."""
    cli.render()
