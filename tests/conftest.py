"""Shared test helpers: build scenarios from TOML text."""

from __future__ import annotations

import os
import textwrap

import pytest

from simulator.scenario import Scenario, decode_scenario

HEADER = """
title = { en = "test", ko = "테스트" }
summary = { en = "test", ko = "테스트" }
"""


def scenario_from(toml: str, name: str = "test") -> Scenario:
    """A scenario from a TOML body (title and summary are added)."""
    return decode_scenario((HEADER + textwrap.dedent(toml)).encode(), f"{name}.toml", name)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: two test workers per core the suite may use.

    The TUI's tests spend much of their time asleep: Textual's pilot waits
    after every key until the app has been idle for a moment, and a live run
    waits on a real broker. One worker per core left the cores half idle while
    those ran (8.4 minutes on 2 cores; 6.3 with two per core).
    """
    return (
        2 * len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else 2 * (os.cpu_count() or 1)
    )


@pytest.hookimpl(trylast=True)  # after any shuffling of the order
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` start first: one begun last would hold its worker alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
