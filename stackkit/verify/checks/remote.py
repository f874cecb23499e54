"""A Phoenix the stack does not run (PHOENIX_EXTERNAL_URL), behind a proxy or tunnel: is it Phoenix that
answers, with TLS this machine trusts, at the right path, taking a large batch?"""

from __future__ import annotations

from stackkit.phoenix import remote
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check


@check("phoenix.remote", static=False, stage=Stage.REMOTE)
def phoenix_remote(ctx: VerifyContext) -> CheckResult:
    settings = ctx.settings
    if not settings.phoenix_external_url:
        return CheckResult.skipped("PHOENIX_EXTERNAL_URL is empty: the stack runs its own Phoenix")
    problem = remote.diagnose(settings)
    if problem:
        return CheckResult.failed(problem.summary, problem.fix)
    return CheckResult.passed(
        f"Phoenix answers at {settings.phoenix_url} through the proxy: TLS trusted, OTLP accepted, "
        f"a {remote.LARGE_BODY_BYTES / 1e6:.1f} MB export not refused"
    )
