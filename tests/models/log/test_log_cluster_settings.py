"""The ``[log]`` and ``[groups.log]`` sections: checks, the trace header, one broker unchanged.

A lesson that asks for no cluster runs the one-broker model with exactly the
header it always had; a cluster shows its settings (Kafka 3.x names and
defaults) and says what it follows; a file that asks for what Kafka refuses
stops at one line naming its ``$.path``.
"""

from __future__ import annotations

import pytest
from conftest import scenario_from

from simulator.errors import InputError
from simulator.models.log.broker import LogBroker
from simulator.models.log.cluster import ReplicatedLogBroker
from simulator.models.log.settings import replicas_of
from simulator.models.log.spec import ONE_BROKER_FOLLOWS
from simulator.simulation import Simulation
from simulator.trace import ScenarioStarted

TOPIC = """
[[topics]]
name = "orders"
partitions = 3
[[producers]]
name = "shop"
topic = "orders"
[[groups]]
name = "billing"
topic = "orders"
[[workload.generators]]
producer = "shop"
count = 3
"""


def header(text: str) -> ScenarioStarted:
    first = Simulation(scenario_from(text)).trace[0]
    assert isinstance(first, ScenarioStarted)
    return first


def refused(text: str) -> InputError:
    with pytest.raises(InputError) as err:
        scenario_from(text)
    return err.value


def test_a_scenario_without_a_cluster_runs_the_one_broker_model_with_its_old_header() -> None:
    sim = Simulation(scenario_from(TOPIC))
    assert type(sim.broker) is LogBroker
    first = sim.trace[0]
    assert isinstance(first, ScenarioStarted)
    assert first.follows == ONE_BROKER_FOLLOWS
    assert not [k for k in first.settings if k.startswith(("cluster.", "min.insync", "default."))]


def test_a_cluster_shows_its_replication_settings_with_kafkas_defaults() -> None:
    started = header("[log]\nbrokers = 3\n" + TOPIC)
    assert "cluster of 3 brokers" in started.follows
    settings = started.settings
    assert settings["cluster.brokers"] == "3"
    assert settings["default.replication.factor"] == "1"
    assert settings["min.insync.replicas"] == "1"
    assert settings["unclean.leader.election.enable"] == "false"
    assert settings["replica.lag.time.max.ms"] == "30000"
    assert settings["broker.session.timeout.ms"] == "9000"
    assert settings["flush.messages"].startswith("unlimited")
    assert settings["topic.orders.replication.factor"] == "1"


def test_a_topics_own_settings_override_the_broker_defaults() -> None:
    text = (
        "[log]\nbrokers = 3\ndefault_replication_factor = 2\n"
        "[log.topics.orders]\nreplication_factor = 3\nmin_insync_replicas = 2\nflush_messages = 1\n"
        + TOPIC
    )
    settings = header(text).settings
    assert settings["topic.orders.replication.factor"] == "3"
    assert settings["topic.orders.min.insync.replicas"] == "2"
    assert settings["topic.orders.flush.messages"] == "1"
    assert settings["topic.orders.1.replicas"] == "broker-2,broker-3,broker-1"


def test_replicas_are_placed_round_the_ring_with_the_preferred_leader_first() -> None:
    assert replicas_of(3, 3, 0) == ["broker-1", "broker-2", "broker-3"]
    assert replicas_of(3, 2, 2) == ["broker-3", "broker-1"]
    assert replicas_of(4, 1, 5) == ["broker-2"]


def test_a_cluster_builds_the_replicated_broker() -> None:
    sim = Simulation(scenario_from("[log]\nbrokers = 2\n" + TOPIC))
    assert isinstance(sim.broker, ReplicatedLogBroker)


def test_more_copies_than_brokers_is_refused_like_invalid_replication_factor() -> None:
    err = refused("[log]\nbrokers = 2\n[log.topics.orders]\nreplication_factor = 3\n" + TOPIC)
    assert err.where == "$.log.topics.orders.replication_factor"
    err = refused("[log]\ndefault_replication_factor = 2\n" + TOPIC)
    assert err.where == "$.log.default_replication_factor"


def test_topic_settings_must_name_a_topic() -> None:
    err = refused("[log]\nbrokers = 3\n[log.topics.nope]\nreplication_factor = 3\n" + TOPIC)
    assert err.where == "$.log.topics.nope"


def test_a_power_loss_needs_a_cluster_and_names_its_brokers() -> None:
    fault = '[[faults]]\nkind = "power-loss"\ntargets = ["broker-1"]\nat_ms = 10\n'
    err = refused(TOPIC + fault)
    assert err.where == "$.faults[0].targets[0]"
    assert "cluster" in err.message
    err = refused("[log]\nbrokers = 3\n" + TOPIC + fault.replace("broker-1", "broker-4"))
    assert err.where == "$.faults[0].targets[0]" and "broker-4" in err.message


def test_in_a_cluster_a_crash_names_a_broker() -> None:
    fault = '[[faults]]\nkind = "crash"\ntarget = "broker"\nat_ms = 10\n'
    err = refused("[log]\nbrokers = 3\n" + TOPIC + fault)
    assert err.where == "$.faults[0].target"
    scenario_from("[log]\nbrokers = 3\n" + TOPIC + fault.replace('"broker"', '"broker-2"'))


def test_retention_on_a_replicated_topic_is_refused_as_not_modelled() -> None:
    text = "[log]\nbrokers = 3\ndefault_replication_factor = 3\n" + TOPIC.replace(
        "partitions = 3", "partitions = 3\nretention_messages = 10"
    )
    assert refused(text).where == "$.topics[0]"


def test_a_partition_count_can_only_grow() -> None:
    add = '[[log.add_partitions]]\ntopic = "orders"\nat_ms = 100\npartitions = {n}\n'
    err = refused("[log]\n" + add.format(n=3) + TOPIC)
    assert err.where == "$.log.add_partitions[0].partitions"
    scenario_from("[log]\n" + add.format(n=4) + TOPIC)


def test_an_autoscaled_group_starts_between_its_bounds_with_a_count() -> None:
    scaled = TOPIC.replace(
        '[[groups]]\nname = "billing"\ntopic = "orders"\n',
        '[[groups]]\nname = "billing"\ntopic = "orders"\nconsumers = {c}\n'
        "[groups.log.autoscale]\nmin_consumers = 2\nmax_consumers = 4\n",
    )
    assert refused(scaled.format(c=1)).where == "$.groups[0].consumers"
    assert refused(scaled.format(c='["a", "b"]')).where == "$.groups[0].consumers"
    scenario_from(scaled.format(c=2))


def test_an_autoscaled_groups_extra_consumers_may_not_take_a_used_name() -> None:
    text = TOPIC.replace(
        '[[groups]]\nname = "billing"\ntopic = "orders"\n',
        '[[groups]]\nname = "billing"\ntopic = "orders"\n'
        "[groups.log.autoscale]\nmax_consumers = 3\n"
        '[[groups]]\nname = "audit"\ntopic = "orders"\nconsumers = ["billing-2"]\n',
    )
    assert refused(text).where == "$.groups[0].log.autoscale.max_consumers"
