"""The determinism guard: the machine's clock, the global random and hidden state are caught."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from usercode_support import LOG_GROUP, load, run

from evsim.grade import divergence
from evsim.guard import LINE_BUDGET
from simulator.errors import InputError
from simulator.simulation import Simulation
from simulator.usercode.port import CodeAborted

CALLS = {
    "time.time()": ("import time", "time.time()"),
    "time.monotonic()": ("import time", "time.monotonic()"),
    "time.perf_counter()": ("import time", "time.perf_counter()"),
    "datetime.now()": ("from datetime import datetime", "datetime.now()"),
    "date.today()": ("import datetime", "datetime.date.today()"),
    "random.random()": ("import random", "random.random()"),
    "random.randint()": ("import random", "random.randint(1, 6)"),
    "random.choice()": ("import random", "random.choice([1, 2])"),
    "random.Random() without a seed": ("import random", "random.Random().random()"),
    "uuid.uuid4()": ("import uuid", "uuid.uuid4()"),
    "os.urandom()": ("import os", "os.urandom(4)"),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_nondeterministic_call_is_named_with_its_line(tmp_path: Path, call: str) -> None:
    imports, expression = CALLS[call]
    code = f"""
{imports}
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    if message.id == 3:
        value = {expression}
    ctx.effect("charge")
"""
    scenario = load(tmp_path, LOG_GROUP, code)
    with pytest.raises(CodeAborted) as caught:
        Simulation(scenario).run()
    err = caught.value
    assert isinstance(err, InputError)  # one line, exit 2 at the CLI
    assert (err.file, err.where) == ("consumer.py", "line 8")
    assert err.message.startswith(f"your code is not deterministic: it calls {call} (")
    assert "ctx.now_ms" in err.message or "ctx.rng" in err.message or "derive ids" in err.message


def test_a_name_imported_from_time_is_caught_too(tmp_path: Path) -> None:
    code = """
from time import time as clock
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.log(clock())
"""
    with pytest.raises(CodeAborted, match=r"consumer\.py: line 7: .* calls time\.time\(\)"):
        Simulation(load(tmp_path, LOG_GROUP, code)).run()


def test_catching_the_guards_error_does_not_hide_the_call(tmp_path: Path) -> None:
    code = """
import random
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    try:
        random.random()
    except BaseException:
        pass
"""
    with pytest.raises(CodeAborted, match=r"random\.random\(\)"):
        Simulation(load(tmp_path, LOG_GROUP, code)).run()


def test_a_call_at_import_time_is_caught(tmp_path: Path) -> None:
    code = """
import time
STARTED = time.time()
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    pass
"""
    with pytest.raises(CodeAborted, match=r"consumer\.py: line 3: .*time\.time\(\)"):
        Simulation(load(tmp_path, LOG_GROUP, code))


def test_the_context_clock_and_rng_are_allowed_and_repeat_with_the_seed(tmp_path: Path) -> None:
    code = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    ctx.effect("roll", seq=ctx.rng.randint(1, 1000), amount=ctx.now_ms)
"""
    scenario = load(tmp_path, LOG_GROUP, code)
    first, _ = run(scenario)
    second, _ = run(scenario)
    assert [repr(r) for r in first] == [repr(r) for r in second]
    assert divergence(scenario) is None


def test_the_guard_watches_only_the_thread_running_user_code(tmp_path: Path) -> None:
    import threading

    code = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    for _ in range(2000):
        pass
"""
    scenario = load(tmp_path, LOG_GROUP, code)
    stop = threading.Event()
    errors: list[BaseException] = []

    def tick() -> None:
        try:
            while not stop.is_set():
                time.time()
        except BaseException as err:  # pragma: no cover - would fail the test
            errors.append(err)

    other = threading.Thread(target=tick)
    other.start()
    try:
        Simulation(scenario).run()
    finally:
        stop.set()
        other.join()
    assert errors == []


def test_state_kept_in_a_module_variable_is_caught_by_the_double_run(tmp_path: Path) -> None:
    code = """
from evsim import Context, Message, handler

SEEN = set()

@handler
def handle(message: Message, ctx: Context) -> None:
    if message.id in SEEN:
        return
    SEEN.add(message.id)
    ctx.effect("charge")
"""
    scenario = load(tmp_path, LOG_GROUP, code)
    differs = divergence(scenario)
    assert differs is not None
    assert differs.startswith("the second run differs at record #")
    assert "EffectPerformed" in differs and "module-level variable" in differs
    # each run on its own loads the file afresh: both are the same run
    first, _ = run(scenario)
    second, _ = run(scenario)
    assert len(first) == len(second)


OUTSIDE = {
    "threading.Thread.start()": ("import threading", "threading.Thread(target=print).start()"),
    "subprocess.Popen()": ("import subprocess", "subprocess.run(['true'])"),
    "os.system()": ("import os", "os.system('true')"),
    "socket.connect()": (
        "import socket",
        "with socket.socket() as s: s.connect(('127.0.0.1', 9))",
    ),
    "socket.getaddrinfo()": ("import socket", "socket.create_connection(('localhost', 9))"),
    "asyncio.new_event_loop()": ("import asyncio", "asyncio.new_event_loop()"),
}


@pytest.mark.parametrize("call", sorted(OUTSIDE))
def test_a_thread_a_process_or_the_network_is_refused_before_it_starts(
    tmp_path: Path, call: str
) -> None:
    imports, expression = OUTSIDE[call]
    code = f"""
{imports}
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    if message.id == 2:
        {expression}
    ctx.effect("charge")
"""
    scenario = load(tmp_path, LOG_GROUP, code)
    with pytest.raises(CodeAborted) as caught:
        Simulation(scenario).run()
    err = caught.value
    assert (err.file, err.where) == ("consumer.py", "line 8")
    assert err.message.startswith(f"your code is not deterministic: it calls {call} (")


ENDLESS = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    n = 0
    while message.id == 3:
        n += 1
    ctx.effect("charge")
"""


def test_an_endless_loop_is_stopped_by_the_line_budget_at_the_same_line_every_time(
    tmp_path: Path,
) -> None:
    scenario = load(tmp_path, LOG_GROUP, ENDLESS)
    seen = []
    for _ in range(2):
        with pytest.raises(CodeAborted) as caught:
            Simulation(scenario).run()
        seen.append(str(caught.value))
    assert seen[0] == seen[1]
    assert caught.value.file == "consumer.py"
    assert caught.value.where in ("line 7", "line 8")
    assert f"ran {LINE_BUDGET:,} lines without returning (an endless loop?)" in seen[0]


def test_an_endless_loop_when_the_file_is_loaded_is_stopped_too(tmp_path: Path) -> None:
    code = """
from evsim import Context, Message, handler
while True:
    pass

@handler
def handle(message: Message, ctx: Context) -> None:
    pass
"""
    with pytest.raises(CodeAborted, match=r"consumer\.py: line [34]: one call of your code ran"):
        Simulation(load(tmp_path, LOG_GROUP, code))


def test_a_long_but_finite_loop_stays_within_the_budget(tmp_path: Path) -> None:
    code = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    total = 0
    for i in range(50_000):
        total += i
    ctx.effect("charge", amount=total)
"""
    _, summary = run(load(tmp_path, LOG_GROUP, code))
    assert summary.processed == 8


def test_the_guard_restores_the_trace_hook_it_found(tmp_path: Path) -> None:
    import sys

    def tracer(frame: object, event: str, arg: object) -> None:
        return None

    scenario = load(tmp_path, LOG_GROUP, ENDLESS.replace("message.id == 3", "False"))
    before = sys.gettrace()
    sys.settrace(tracer)
    try:
        run(scenario)
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(before)


def test_what_the_garbage_collector_runs_is_not_blamed_on_the_users_line(tmp_path: Path) -> None:
    import gc

    def timed(phase: str, info: dict[str, int]) -> None:
        time.perf_counter()  # as Hypothesis's own gc callback does, in every test process

    code = """
from evsim import Context, Message, handler

@handler
def handle(message: Message, ctx: Context) -> None:
    junk = [[i] for i in range(5000)]  # enough allocations to start a collection
    ctx.effect("charge")
"""
    scenario = load(tmp_path, LOG_GROUP, code)
    threshold = gc.get_threshold()
    gc.callbacks.append(timed)
    gc.set_threshold(1)  # a collection at (nearly) every allocation, user code's included
    try:
        _, summary = run(scenario)
    finally:
        gc.set_threshold(*threshold)
        gc.callbacks.remove(timed)
    assert summary.processed == 8
    assert gc.isenabled()
