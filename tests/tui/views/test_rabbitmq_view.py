"""The rabbitmq view: the default picture on one node; on a cluster, a panel of nodes and queues."""

from __future__ import annotations

import pytest

from simulator.scenario import builtin_path, load_scenario
from simulator.simulation import Simulation
from simulator.trace import Crashed, PublisherBlocked, Record
from tui.fold import ViewState, fold, initial_state
from tui.views import default, rabbitmq, view_for


def _records(name: str) -> list[Record]:
    return Simulation(load_scenario(builtin_path(name))).run().records


def _at(records: list[Record], at_ms: int) -> ViewState:
    return fold(initial_state(), [r for r in records if r.at <= at_ms])


def _plain(state: ViewState, lang: str = "en") -> list[str]:
    return [line.plain for line in rabbitmq.picture(state, 120, lang).lines]


def test_the_rabbitmq_model_is_drawn_by_its_own_view() -> None:
    assert view_for("rabbitmq") is rabbitmq.picture


def test_one_node_is_drawn_exactly_as_the_default_picture() -> None:
    state = _at(_records("rabbitmq-transient-vs-persistent"), 1500)
    ours, theirs = rabbitmq.picture(state, 120, "en"), default.picture(state, 120, "en")
    assert [line.plain for line in ours.lines] == [line.plain for line in theirs.lines]
    assert ours.anchors == theirs.anchors


def test_each_node_has_its_own_row_with_its_part_in_each_queue() -> None:
    state = _at(_records("rabbitmq-quorum-node-crash"), 100)
    lines = _plain(state)
    pic = rabbitmq.picture(state, 120, "en")
    for node in ("rabbit-1", "rabbit-2", "rabbit-3"):
        assert lines[pic.anchors[node].y].lstrip(" ●").startswith(node)
    leader = lines[pic.anchors["rabbit-2"].y]
    assert "orders-quorum ★ leader" in leader and "orders-classic (classic)" in leader
    assert "orders-quorum follower" in lines[pic.anchors["rabbit-1"].y]
    assert "clients shop-classic shop-quorum" in lines[pic.anchors["rabbit-1"].y]
    assert any("★ leader rabbit-2 · term 1" in line for line in lines)


def test_the_queues_keep_their_own_rows_under_the_panel() -> None:
    state = _at(_records("rabbitmq-quorum-node-crash"), 100)
    pic = rabbitmq.picture(state, 120, "en")
    lines = _plain(state)
    for queue in ("orders-classic", "orders-quorum"):
        row = lines[pic.anchors[queue].y]
        assert row.startswith(queue)  # its lane, not the panel's row about it


def test_a_dead_node_shows_crashed_the_new_leader_and_the_unavailable_classic_queue() -> None:
    records = _records("rabbitmq-quorum-node-crash")
    crash = next(r for r in records if isinstance(r, Crashed) and r.component == "rabbit-2")
    state = _at(records, crash.at + 3000)
    pic = rabbitmq.picture(state, 160, "en")
    lines = [line.plain for line in pic.lines]
    dead = lines[pic.anchors["rabbit-2"].y]
    assert "✖ rabbit-2" in dead and "crashed" in dead and "✖ unavailable" in dead
    assert "★ leader" not in dead
    assert any("term 2" in line and "★ leader rabbit-" in line for line in lines)
    assert any(
        "orders-classic" in line and "unavailable: its node rabbit-2 is down" in line
        for line in lines
    )


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_partition_is_drawn_as_cut_links(lang: str) -> None:
    state = _at(_records("rabbitmq-quorum-minority-partition"), 3000)
    lines = _plain(state, lang)
    cut = [line for line in lines if line.lstrip().startswith("⇹")]
    assert [c.split()[1:4] for c in cut] == [
        ["rabbit-1", "✂", "rabbit-2"],
        ["rabbit-1", "✂", "rabbit-3"],
    ]


def test_a_blocked_publisher_says_so_on_its_row() -> None:
    records = _records("rabbitmq-publisher-blocked")
    blocked = next(r for r in records if isinstance(r, PublisherBlocked))
    pic = rabbitmq.picture(_at(records, blocked.at), 120, "en")
    row = pic.lines[pic.anchors["tracker"].y].plain
    assert "⏸ blocked (connection.blocked)" in row
    before = rabbitmq.picture(_at(records, blocked.at - 1), 120, "en")
    assert "blocked" not in before.lines[before.anchors["tracker"].y].plain
