"""Every way a run can end, through every path it can take: the same job state and the same exit code.

Outcomes: success, failure (the LLM refuses the key), a budget stop, every LLM request failing,
a cancel, a SIGKILL. Paths: the command line in the foreground (`train`, `label`, `retrain`), the
job runner on its threads (what the dashboard and the scheduler use), a detached worker process
(`jobs run ID`, what `trigger` starts). LLM faults and the budget come from the fake LLM server;
the SIGKILLs are real signals to real processes.

The one rule checked everywhere: a job ends in exactly one end state, releases its pair, and
the command that ran it exits 0 (succeeded, budget_exhausted) or 1 (everything else); a job that
did not succeed leaves no `ready` version behind that a page could show as its default.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.context import Context
from core.data import supply
from core.db.database import forget_database
from core.db.models import AIModelVersion, LabelSet, ModelActivation, ModelTrainingRecord, TrainingJob
from core.jobs import store
from core.jobs.local.executors import ThreadExecutor
from core.jobs.recovery import job_versions, recover_orphans
from core.jobs.runner import JobRunner
from core.requests import LabelingRequest, LabelOptions, RetrainRequest, TrainingRequest
from core.services.actors import Actor
from core.services.runs import start_labeling, start_training
from tests.conftest import GOOG_CSV, REPO, CliRun, make_settings
from tests.fakes.llm_server import FakeLLMServer
from tests.labeling.conftest import API_KEY
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow

EXIT = {"succeeded": 0, "budget_exhausted": 0, "failed": 1, "cancelled": 1}
# A job's end state → what its label set (if it labeled) ended as.
LABEL_SET_END = {
    "succeeded": {"succeeded"},
    "budget_exhausted": {"budget_exhausted"},
    "failed": {"auth_failed", "failed"},
    "cancelled": {"cancelled", "succeeded"},  # cancelled while labeling, or after its labels were done
    "interrupted": {"interrupted", "succeeded"},
}
PAIR = ("--symbol", "GOOG", "--timeframe", "1d")
TRAINED_UNTIL = "2008-06-01"  # about 1,000 later bars stay unseen for the paper replay
RULES = ("--labeler", "rules", "--samples", "300", "--end", TRAINED_UNTIL)
LLM = ("--labeler", "llm", "--samples", "8", "--seed")


@dataclass
class Desk:
    """One CANDLELAB_HOME with the GOOG daily history, and the fake LLM server it is configured for."""

    home: Path
    server: FakeLLMServer
    ctx: Context
    cli: Callable[..., CliRun]
    env: dict[str, str]

    def runner(self) -> JobRunner:
        return JobRunner(self.ctx, executor=ThreadExecutor(2))

    def last_job(self) -> store.JobView:
        return store.list_jobs(self.ctx.db, limit=1)[0]

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "core", *args],
            cwd=self.home,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def desk(home: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliRun]) -> Iterator[Desk]:
    with FakeLLMServer(api_key=API_KEY) as server:
        env = {
            "LLM_PROVIDER": "openai",
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_BASE_URL": server.openai_url,
            "FREDDY_TIMEOUT": "2",
            "LLM_MAX_RETRIES": "1",
            "LLM_CONCURRENCY": "2",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        ctx = Context.create(make_settings(home), logs=False)
        supply.import_csv(ctx, GOOG_CSV, "GOOG", "1d")
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("FREDDY_", "OPENAI_", "LLM_"))}
        child_env.update(env, CANDLELAB_HOME=str(home), PYTHONPATH=str(REPO))
        yield Desk(home, server, ctx, cli, child_env)
    forget_database(ctx.settings.db_url)


def settled(desk: Desk, job_id: int, status: str) -> store.JobView:
    """The job ended `status`, and everything around it says the same."""
    ctx = desk.ctx
    job = store.get_job(ctx.db, job_id)
    assert job.status == status, (job.status, job.error)
    assert job.finished_at is not None and not job.active
    with ctx.db.read() as session:
        assert session.get(TrainingJob, job_id).active_slot is None  # the pair is free again
        sets = session.scalars(select(LabelSet.status).where(LabelSet.job_id == job_id)).all()
        running = session.scalars(
            select(ModelTrainingRecord.status).where(
                ModelTrainingRecord.job_id == job_id, ModelTrainingRecord.status == "running"
            )
        ).all()
        versions = job_versions(session, job_id)
        statuses = {v: session.get(AIModelVersion, v).status for v, _ in versions}
    assert not running
    assert all(s in LABEL_SET_END[status] for s in sets), sets
    if status == "succeeded":
        assert job.error is None
    else:
        assert job.error, "every end but success says why"
    if status not in ("succeeded", "budget_exhausted"):  # it never committed: nothing left to pick up
        assert all(active or statuses[v] == "discarded" for v, active in versions), statuses
    return job


def ran(desk: Desk, run: CliRun, status: str) -> store.JobView:
    """A foreground command ran one job: its exit code follows the job's end state."""
    job = settled(desk, desk.last_job().job_id, status)
    assert run.code == EXIT[status], run.err
    if run.code:
        assert f"job {job.job_id} {status.replace('_', ' ')}" in run.json()["error"]["message"]
    else:
        assert run.json().get("status", status) == status
    return job


def through_runner(
    desk: Desk, request: LabelingRequest | TrainingRequest, ctx: Context | None = None
) -> store.JobView:
    """The dashboard's and the scheduler's path: the runner's threads (`ctx`: settings read anew)."""
    runner = JobRunner(ctx or desk.ctx, executor=ThreadExecutor(2))
    actor = Actor.system("test")
    submit = start_labeling if isinstance(request, LabelingRequest) else start_training
    job = submit(runner, actor, request)  # type: ignore[arg-type]
    runner.wait(job.job_id, timeout=300)
    runner.shutdown(wait=True)
    return store.get_job(desk.ctx.db, job.job_id)


def llm_training(seed: int, samples: int = 8) -> TrainingRequest:
    labels = LabelOptions(labeler="llm", samples=samples, seed=seed)
    return TrainingRequest(symbol="GOOG", timeframe="1d", bots=("xgb_agent",), labels=labels)


def llm_labeling(seed: int, samples: int = 8) -> LabelingRequest:
    return LabelingRequest(symbol="GOOG", timeframe="1d", labeler="llm", samples=samples, seed=seed)


def wait_for(desk: Desk, predicate: Callable[[store.JobView], bool], timeout: float = 240) -> store.JobView:
    def there() -> store.JobView | None:
        jobs = store.list_jobs(desk.ctx.db, limit=1)
        return jobs[0] if jobs and predicate(jobs[0]) else None

    return wait_until(
        there,
        timeout=timeout,
        interval=0.05,
        message=lambda: f"the job: {store.list_jobs(desk.ctx.db, limit=1)}",
    )


# --- success ----------------------------------------------------------------------------------
def test_success_through_the_cli_the_runner_and_retrain(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    # The replay below may show the version's live record under its baseline and demote it; this
    # test is about who asked for each activation, demotion has its own (tests/evaluation/test_evidence.py).
    monkeypatch.setenv("DEMOTION_ENABLED", "false")
    trained = desk.cli("train", *PAIR, "--bots", "xgb_agent", *RULES, "--activate", "--json")
    job = ran(desk, trained, "succeeded")
    version = trained.json()["versions"][0]
    assert version["activated"] and job.result["versions"][0]["version_id"] == version["version_id"]
    assert job.requested_by == Actor.cli().name  # who asked, as the store records it

    labels = LabelOptions(labeler="rules", samples=300, end=TRAINED_UNTIL)  # type: ignore[arg-type]
    request = TrainingRequest(symbol="GOOG", timeframe="1d", bots=("ensemble_bot",), labels=labels)
    settled(desk, through_runner(desk, request).job_id, "succeeded")  # asked by the actor "test"

    labeled = desk.cli("label", *PAIR, "--labeler", "rules", "--samples", "20", "--json")
    assert ran(desk, labeled, "succeeded").kind == "label" and labeled.json()["labeled"] == 20

    sim = desk.cli("simulate", *PAIR, "--bars", "1100", "--min-confidence", "0", "--json")
    assert sim.code == 0 and sim.json()["closed"] >= 30, sim.err
    retrained = desk.cli("retrain", "--min-samples", "30", "--json")
    doc = retrained.json()
    assert retrained.code == 0 and doc["retrained"], (retrained.err, doc)
    (only,) = doc["jobs"]
    assert only["status"] == "succeeded" and settled(desk, only["job_id"], "succeeded").kind == "retrain"
    with desk.ctx.db.read() as session:  # every activation names who asked: here the OS user
        actors = set(session.scalars(select(ModelActivation.actor)).all())
    assert actors <= {Actor.cli().name, "test"}, actors


# --- failure: the LLM refuses the key -----------------------------------------------------------
def test_a_refused_key_fails_the_job_everywhere(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-revoked-key-0000000")
    for command in ("label", "train"):
        run = desk.cli(command, *PAIR, *LLM, "1", "--json")
        job = ran(desk, run, "failed")
        assert "HTTP 401" in (job.error or "") and "sk-revoked" not in (job.error or "") + run.err
    ctx = Context.create(make_settings(desk.home), logs=False)  # the revoked key
    for request in (llm_training(2), llm_labeling(2)):
        job = through_runner(desk, request, ctx)
        assert "HTTP 401" in (settled(desk, job.job_id, "failed").error or "")


# --- budget stop --------------------------------------------------------------------------------
@pytest.mark.backends("sqlite", "postgresql")  # the ledger's reservations across processes, on both
def test_a_budget_stop_ends_budget_exhausted_everywhere(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PRICES", "gpt-4o=1000/1000")  # about $1.10 a call
    monkeypatch.setenv("LLM_DAILY_BUDGET_USD", "3")
    monkeypatch.setenv("LLM_CONCURRENCY", "1")
    labeled = desk.cli("label", *PAIR, *LLM, "3", "--force", "--json")
    job = ran(desk, labeled, "budget_exhausted")
    assert labeled.json()["not_attempted"] > 0 and "warning: stopped on the daily LLM budget" in labeled.err
    assert 0 < job.cost_usd <= 3.0 and job.llm_calls >= 1  # the spend is on the job row

    monkeypatch.setenv("LLM_DAILY_BUDGET_USD", "6")  # a little more for today: a few labels, too few to train
    trained = desk.cli("train", *PAIR, "--bots", "xgb_agent", *LLM, "4", "--json")
    job = ran(desk, trained, "budget_exhausted")  # not "bad input" after paid calls: exit 0, says why
    assert "daily LLM budget" in (job.error or "") and trained.json()["versions"] == []
    assert job.label_set_id is not None and job.cost_usd > 0

    monkeypatch.setenv("LLM_DAILY_BUDGET_USD", "9")
    ctx = Context.create(make_settings(desk.home), logs=False)  # today's prices and budget
    job = through_runner(desk, llm_training(5, samples=50), ctx)
    assert "daily LLM budget" in (settled(desk, job.job_id, "budget_exhausted").error or "")


# --- every LLM request failed -------------------------------------------------------------------
def test_every_request_failing_fails_the_job_everywhere(desk: Desk) -> None:
    desk.server.default = "500"
    for command in ("label", "train"):
        run = desk.cli(command, *PAIR, *LLM, "6", "--json")
        assert "every LLM request failed" in (ran(desk, run, "failed").error or "")
    for request in (llm_labeling(7), llm_training(7)):
        job = through_runner(desk, request)
        assert "every LLM request failed" in (settled(desk, job.job_id, "failed").error or "")


# --- cancel -------------------------------------------------------------------------------------
def test_cancel_ends_cancelled_everywhere_and_keeps_no_ready_version(desk: Desk) -> None:
    desk.server.latency = 0.3
    proc = desk.spawn("train", *PAIR, "--bots", "xgb_agent", *LLM, "9", "--samples", "40", "--json")
    job = wait_for(desk, lambda j: j.status == "running" and j.stage.startswith("labeling"))
    cancel = desk.cli("jobs", "cancel", str(job.job_id), "--json")
    assert cancel.code == 0
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT["cancelled"], err
    assert f"job {job.job_id} cancelled" in out
    settled(desk, job.job_id, "cancelled")

    runner = desk.runner()
    label_job = start_labeling(runner, Actor.system("test"), llm_labeling(10, samples=12))
    wait_for(desk, lambda j: j.stage.startswith("labeling"))
    runner.cancel(label_job.job_id)
    runner.wait(label_job.job_id, timeout=120)
    settled(desk, label_job.job_id, "cancelled")

    # Cancelled after its first bot registered a version: that version never goes live.
    labels = LabelOptions(labeler="rules", samples=300, end=TRAINED_UNTIL)  # type: ignore[arg-type]
    request = TrainingRequest(
        symbol="GOOG", timeframe="1d", bots=("xgb_agent", "ensemble_bot"), labels=labels, activate="always"
    )
    training = start_training(runner, Actor.system("test"), request)
    wait_for(desk, lambda j: j.stage.startswith("training xgb_agent"))
    runner.cancel(training.job_id)
    runner.wait(training.job_id, timeout=240)
    cancelled = settled(desk, training.job_id, "cancelled")
    with desk.ctx.db.read() as session:
        versions = session.scalars(select(AIModelVersion)).all()
    assert [(v.bot, v.status, v.is_active) for v in versions] == [("xgb_agent", "discarded", False)]
    assert "discarded" in (cancelled.error or "")

    # A retrain queued behind a busy worker is cancelled before it starts.
    slow = JobRunner(desk.ctx, executor=ThreadExecutor(1))
    blocker = start_labeling(slow, Actor.system("test"), llm_labeling(11, samples=4))
    retrain = slow.submit(RetrainRequest(symbol="GOOG", timeframe="1d", min_samples=30), requested_by="test")
    assert slow.cancel(retrain.job_id).status == "cancelled"
    slow.shutdown(wait=True)
    settled(desk, blocker.job_id, "succeeded")
    settled(desk, retrain.job_id, "cancelled")
    runner.shutdown(wait=True)


# --- SIGKILL ------------------------------------------------------------------------------------
def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.backends("sqlite", "postgresql")  # a killed process's open transaction, on both
def test_sigkill_ends_interrupted_and_recovery_tells_the_truth(desk: Desk) -> None:
    # The foreground command, killed while it labels.
    desk.server.latency = 0.3
    proc = desk.spawn("train", *PAIR, "--bots", "xgb_agent", *LLM, "12", "--samples", "40", "--json")
    job = wait_for(desk, lambda j: j.status == "running" and j.stage.startswith("labeling"))
    _kill(proc)
    assert store.get_job(desk.ctx.db, job.job_id).status == "running"  # nobody has noticed yet
    listed = desk.cli("jobs", "--json")  # a read never recovers (it would be a write)
    assert listed.json()["jobs"][0]["status"] == "running"
    JobRunner(desk.ctx, executor=ThreadExecutor(1)).shutdown()  # a process that starts work does
    killed = settled(desk, job.job_id, "interrupted")
    assert "no model from it was activated" in (killed.error or "")

    # A detached worker (`trigger`'s), killed while its second bot trains after the first registered.
    labels = LabelOptions(labeler="rules", samples=300, end=TRAINED_UNTIL)  # type: ignore[arg-type]
    request = TrainingRequest(
        symbol="GOOG", timeframe="1d", bots=("xgb_agent", "lstm_bot"), labels=labels, activate="always"
    )
    queued = store.create_job(desk.ctx.db, request, requested_by="test")
    worker = desk.spawn("jobs", "run", str(queued.job_id))
    wait_for(desk, lambda j: "lstm_bot" in j.stage, timeout=300)
    _kill(worker)
    assert recover_orphans(desk.ctx.db) == [queued.job_id]
    dead = settled(desk, queued.job_id, "interrupted")
    assert "no model from it was activated" in (dead.error or "") and "were discarded" in (dead.error or "")

    # A job that died after its activations committed: recovery says which of its versions are live.
    ok = desk.cli("train", *PAIR, "--bots", "xgb_agent", *RULES, "--activate", "--json")
    done = ran(desk, ok, "succeeded")
    live = ok.json()["versions"][0]["version_id"]
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    host = store.owner_tag().rpartition(":")[0]
    with desk.ctx.db.session() as session:
        session.execute(
            update(TrainingJob)
            .where(TrainingJob.id == done.job_id)
            .values(status="running", finished_at=None, owner=f"{host}:{int(gone.stdout)}", error=None)
        )
    assert recover_orphans(desk.ctx.db) == [done.job_id]
    truth = settled(desk, done.job_id, "interrupted")
    assert f"version(s) {live} of it had been activated and stay active" in (truth.error or "")
