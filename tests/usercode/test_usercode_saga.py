"""A saga step's own code: every do and undo reaches it, refusals and failures compensate."""

from __future__ import annotations

from pathlib import Path

from usercode_support import SAGA, STEP, kinds, load, run

from simulator.trace import CodeFailed, EffectPerformed, SagaCompleted, SagaStepFailed


def test_a_step_reserves_refuses_and_is_compensated(tmp_path: Path) -> None:
    records, summary = run(load(tmp_path, SAGA, STEP, "stock.py"))
    outcomes = {r.saga: r.outcome for r in records if isinstance(r, SagaCompleted)}
    assert outcomes == {"order-0": "completed", "order-1": "compensated", "order-2": "compensated"}
    refused = [r for r in records if isinstance(r, SagaStepFailed) and r.step == "stock"]
    assert [r.reason for r in refused] == ["out of stock"]
    net = {}
    for e in records:
        if isinstance(e, EffectPerformed):
            net[e.ref] = net.get(e.ref, 0) + e.amount
    assert net == {"order-0": 1, "order-1": 0}
    assert all(e.ok for e in summary.expectations)


def test_a_step_that_raises_refuses_with_the_error(tmp_path: Path) -> None:
    code = STEP.replace('return Rejected("out of stock")', "raise RuntimeError('warehouse down')")
    records, _ = run(load(tmp_path, SAGA, code, "stock.py"))
    refused = [r for r in records if isinstance(r, SagaStepFailed) and r.step == "stock"]
    assert refused[0].reason.startswith("the step raised RuntimeError: warehouse down (stock.py:")
    assert kinds(records, "CodeFailed")


def test_a_compensation_that_raises_leaves_the_saga_unfinished(tmp_path: Path) -> None:
    code = STEP.replace('    if ctx.store.get(saga) == "reserved":', "    1 / 0\n    if False:")
    records, summary = run(load(tmp_path, SAGA, code, "stock.py"))
    failed = [r for r in records if isinstance(r, CodeFailed)]
    assert failed and "the compensation raised ZeroDivisionError" in failed[0].error
    detail = next(e.detail for e in summary.expectations if not e.ok)
    assert "never ended" in detail


def test_a_naive_step_reserves_twice_when_its_command_is_redelivered(tmp_path: Path) -> None:
    code = """
    from evsim import Context, saga_step

    def release(saga: str, ctx: Context) -> None:
        ctx.effect("stock", amount=-1)

    @saga_step(compensation=release)
    def reserve(saga: str, ctx: Context) -> None:
        ctx.effect("stock", amount=+1)
    """
    toml = SAGA + (
        '[[faults]]\nkind = "crash"\ntarget = "stock-0"\nat = "after_process_before_commit"\n'
        "restart_after_ms = 10\n"
    )
    quick = '[[groups]]\nname = "stock"\nsession_timeout_ms = 300\nheartbeat_interval_ms = 100'
    toml = toml.replace('[[groups]]\nname = "stock"', quick, 1)
    _, summary = run(load(tmp_path, toml, code, "stock.py"))
    detail = next(e.detail for e in summary.expectations if not e.ok)
    assert "add up to 2, not 1" in detail
