"""User code on the event store's side: a projector's apply, a decider, a command handler."""

from __future__ import annotations

from pathlib import Path

from usercode_support import bank, kinds, load, run

from simulator.trace import CodeFailed, ProjectionSkipped, ReadModelMismatched, VersionConflicted

CRASH = """
[[faults]]
kind = "crash"
target = "balances"
at = "after_project_before_checkpoint"
occurrence = 2
restart_after_ms = 20
"""

NAIVE_APPLY = """
from evsim import Context, Event, projector

@projector
def apply(read_model, event: Event, ctx: Context) -> None:
    account = event["account_id"]
    read_model[account] = read_model.get(account, 0) + event.data.get("amount_cents", 0)
"""

CHECKPOINTED_APPLY = """
from evsim import Context, Event, projector

@projector
def apply(read_model, event: Event, ctx: Context) -> None:
    if event.position <= ctx.store.get("done", 0):
        return
    account = event["account_id"]
    read_model[account] = read_model.get(account, 0) + event.data.get("amount_cents", 0)
    ctx.store.put("done", event.position)
"""


DECIDED = 'settle_ms = 300\nproperties = ["every-command-decided"]'


def test_a_naive_apply_double_counts_after_a_crash_and_the_finding_says_why(
    tmp_path: Path,
) -> None:
    records, summary = run(load(tmp_path, bank() + CRASH, NAIVE_APPLY, "projector.py"))
    found = [r for r in records if isinstance(r, ReadModelMismatched)]
    assert summary.events_stored == 7 and len(found) == 1
    assert found[0].row == "A1" and found[0].expected == "600"
    assert int(found[0].actual or 0) > 600
    assert "projection code" not in found[0].reason  # a delivery problem, not a bug


def test_a_checkpoint_in_the_projectors_store_makes_the_same_apply_idempotent(
    tmp_path: Path,
) -> None:
    scenario = load(tmp_path, bank() + CRASH, CHECKPOINTED_APPLY, "projector.py")
    _, summary = run(scenario)
    assert summary.read_model_digest is not None
    assert not [e for e in summary.expectations if not e.ok]
    records, _ = run(scenario)
    assert not kinds(records, "ReadModelMismatched")


def test_an_atomic_projector_rolls_its_store_back_with_its_rows(tmp_path: Path) -> None:
    # With kind = "atomic" the store commits with the checkpoint: a crash loses both,
    # so the re-read batch is applied once, even by the naive apply.
    records, _ = run(load(tmp_path, bank("atomic") + CRASH, NAIVE_APPLY, "projector.py"))
    assert not kinds(records, "ReadModelMismatched")


def test_a_bug_in_the_apply_is_told_apart_from_a_delivery_problem(tmp_path: Path) -> None:
    code = NAIVE_APPLY.replace('+ event.data.get("amount_cents", 0)', "+ 1")
    records, _ = run(load(tmp_path, bank(), code, "projector.py"))
    found = [r for r in records if isinstance(r, ReadModelMismatched)]
    assert found and "projection code" in found[0].reason


def test_an_apply_that_raises_leaves_the_event_unapplied(tmp_path: Path) -> None:
    raising = '    if event.version == 3:\n        raise KeyError("nope")\n    account = '
    code = NAIVE_APPLY.replace("    account = ", raising)
    records, _ = run(load(tmp_path, bank(), code, "projector.py"))
    failed = [r for r in records if isinstance(r, CodeFailed)]
    assert len(failed) == 1 and failed[0].subject == "@3"
    assert failed[0].error.startswith("KeyError: 'nope' (projector.py:7)")
    assert kinds(records, "ReadModelMismatched")
    assert not [r for r in records if isinstance(r, ProjectionSkipped)]


DECIDER = """
from evsim import Command, Event, Rejected, decider

def evolve(state, event: Event):
    if event.type == "account.opened":
        return {**state, "open": True}
    return {**state, "balance": state["balance"] + event.data.get("amount_cents", 0)}

@decider(evolve=evolve, initial_state={"open": False, "balance": 0})
def decide(command: Command, state):
    if command.type == "account.open":
        return [{"type": "account.opened", "account_id": command["account_id"], "owner": "x"}]
    if not state["open"]:
        return Rejected("not open")
    if state["balance"] >= 300:
        return Rejected("enough money already")
    event = {"type": "account.deposited", "account_id": command["account_id"]}
    return [{**event, "amount_cents": command["amount_cents"], "currency": "EUR"}]
"""


def test_a_decider_runs_in_the_built_in_loop_with_the_domains_events(tmp_path: Path) -> None:
    toml = bank(apply="", handler='decider = "account.py:decide"')
    records, summary = run(load(tmp_path, toml, DECIDER, "account.py"))
    assert summary.events_stored == 4  # opened, then deposits until the balance is 300
    rejected = kinds(records, "CommandRejected")
    assert len(rejected) == 3 and rejected[0].reason == "enough money already"  # type: ignore[attr-defined]
    assert not kinds(records, "ReadModelMismatched")  # the balances projection reads them


def test_a_decide_returning_a_wrong_event_is_a_code_failure(tmp_path: Path) -> None:
    code = DECIDER.replace('"amount_cents": command["amount_cents"], ', "")
    toml = bank(apply="", handler='decider = "account.py:decide"')
    records, _ = run(load(tmp_path, toml, code, "account.py"))
    failed = [r for r in records if isinstance(r, CodeFailed)]
    assert failed and failed[0].role == "decider"
    assert "is not an event of the bank domain" in failed[0].error


COMMAND_HANDLER = (
    DECIDER
    + """
from evsim import Context, VersionConflict, command_handler

@command_handler(decider=decide)
async def handle(command, ctx: Context) -> None:
    for attempt in range(10):
        loaded = await ctx.load(command.stream)
        decided = decide(command, loaded.state)
        if isinstance(decided, Rejected):
            ctx.reject(decided.reason)
            return
        try:
            await ctx.append(command.stream, decided, expected_version=loaded.version)
            return
        except VersionConflict:
            await ctx.sleep(ctx.rng.randint(1, 10))
    ctx.reject("gave up")
"""
)


def test_a_command_handler_awaits_the_store_and_retries_its_conflicts(tmp_path: Path) -> None:
    toml = bank(apply="", handler='command_handler = "account.py:handle"').replace(
        "rate_per_s = 100", "rate_per_s = 1000"
    )
    scenario = load(tmp_path, toml, COMMAND_HANDLER, "account.py")
    records, summary = run(scenario)
    assert [r for r in records if isinstance(r, VersionConflicted)]  # 1 ms apart, 5 ms thinking
    assert summary.events_stored == 4
    assert len(kinds(records, "CommandRejected")) == 3
    assert not kinds(records, "CodeFailed") and not kinds(records, "UpdateLost")


def test_a_command_handler_that_lets_a_conflict_escape_fails_that_command(
    tmp_path: Path,
) -> None:
    code = COMMAND_HANDLER.replace(
        "        except VersionConflict:\n            await ctx.sleep(ctx.rng.randint(1, 10))\n",
        "        finally:\n            pass\n",
    )
    toml = bank(apply="", handler='command_handler = "account.py:handle"')
    toml = toml.replace("rate_per_s = 100", "rate_per_s = 1000")
    records, _ = run(load(tmp_path, toml, code, "account.py"))
    failed = [r for r in records if isinstance(r, CodeFailed)]
    assert failed and failed[0].error.startswith("VersionConflict: account-A1: expected version")
    assert "(account.py:" in failed[0].error


def test_an_append_without_an_expected_version_is_a_lost_update(tmp_path: Path) -> None:
    code = COMMAND_HANDLER.replace(", expected_version=loaded.version", "")
    toml = bank(apply="", handler='command_handler = "account.py:handle"')
    toml = toml.replace("rate_per_s = 100", "rate_per_s = 1000")
    toml = toml.replace("settle_ms = 300", DECIDED)
    records, summary = run(load(tmp_path, toml, code, "account.py"))
    assert kinds(records, "UpdateLost")
    assert summary.events_stored > 4  # decisions on a stale balance went through
    assert all(e.ok for e in summary.expectations)


def test_a_command_handler_that_returns_undecided_is_a_code_failure(tmp_path: Path) -> None:
    code = (
        DECIDER
        + """
from evsim import command_handler

@command_handler(decider=decide)
async def handle(command, ctx) -> None:
    await ctx.load(command.stream)
"""
    )
    toml = bank(apply="", handler='command_handler = "account.py:handle"')
    toml = toml.replace("settle_ms = 300", DECIDED)
    records, summary = run(load(tmp_path, toml, code, "account.py"))
    failed = [r for r in records if isinstance(r, CodeFailed)]
    assert len(failed) == 7 and "without appending events" in failed[0].error
    assert [e.ok for e in summary.expectations] == [False]
