"""Whether what `invoke up` started still runs, and whether anything exited without `invoke down` since.

The other runtime checks look at Phoenix and Alloy; a demo that was killed fails none of them, and a Phoenix
that crashed and was started again looks healthy while the spans it had accepted but not written are gone.
"""

from __future__ import annotations

from stackkit.stack import applied, lifecycle
from stackkit.verify.findings import conclude, fail, warn
from stackkit.verify.live import UP_FIX, runtime_and_plan
from stackkit.verify.registry import CheckResult, Stage, VerifyContext, check


@check("stack.running", static=False, stage=Stage.PORTS)
def stack_running(ctx: VerifyContext) -> CheckResult:
    state = applied.read(ctx.settings)
    if state is None:
        return CheckResult.skipped(f"no stack has been brought up in {ctx.settings.state_dir}: run `invoke up`")
    runtime, plan = runtime_and_plan(ctx.settings)
    started = [name for name in state.components if name not in plan.external]
    stopped = [name for name in started if not runtime.state(name).running]
    findings = [
        fail(
            f"{name} is not running, though the last `invoke up` started it",
            UP_FIX.format(component=name),
        )
        for name in stopped
    ]
    findings += [
        warn(note, "nothing brings back what was lost; `invoke down` (a planned stop, which drains) clears this")
        for note in lifecycle.unexpected_exit_notes(ctx.settings)
    ]
    return conclude(findings, f"every component the last `invoke up` started runs ({', '.join(started)})")
