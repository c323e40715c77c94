"""Shared test helpers: build scenarios from TOML text."""

from __future__ import annotations

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


@pytest.hookimpl(trylast=True)  # after any shuffling of the order
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``long`` start first: one begun last would hold its worker alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
