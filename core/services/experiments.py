"""Running the labeler experiment: it writes label sets (an LLM run is on the ledger) and its rows."""

from __future__ import annotations

from core.checks import check
from core.context import Context
from core.experiments import runner
from core.experiments.runner import ExperimentOutcome
from core.reporting import NULL_REPORTER, Reporter
from core.requests import ExperimentRequest
from core.services.actors import Actor, Permission, authorize
from core.services.audited import audited


@audited(
    "experiment",
    target=lambda a: f"{a['request'].symbol} {a['request'].timeframe}",
    detail=lambda outcome: {"experiment_id": outcome.experiment_id},
)
def run_experiment(
    ctx: Context, actor: Actor, request: ExperimentRequest, reporter: Reporter = NULL_REPORTER
) -> ExperimentOutcome:
    """Check the request against the store (`BadInput` writes nothing), then run it here and now."""
    authorize(actor, Permission.TRAIN)
    check(request, ctx)
    return runner.run_experiment(ctx, request, reporter, actor=actor.name)
