"""Kafka's default partitioner, checked against Kafka's own test vectors."""

from __future__ import annotations

import pytest

from simulator.models.log.partitioner import Partitioner, murmur2, partition_for_key, to_positive

# From Kafka's UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/common/utils).
KAFKA_VECTORS = [
    (b"21", -973932308),
    (b"foobar", -790332482),
    (b"a-little-bit-long-string", -985981536),
    (b"a-little-bit-longer-string", -1486304829),
    (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
    (b"abc", 479470107),
]


@pytest.mark.parametrize(("data", "expected"), KAFKA_VECTORS)
def test_murmur2_matches_kafka(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def test_to_positive_clears_sign_bit_instead_of_abs() -> None:
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(-(2**31)) == 0
    assert to_positive(5) == 5


def test_keyed_partition_is_murmur2_mod_partitions() -> None:
    for key in ("order-1", "order-2", "driver-42", "한글키"):
        expected = (murmur2(key.encode()) & 0x7FFFFFFF) % 6
        assert partition_for_key(key, 6) == expected


def test_same_key_always_same_partition() -> None:
    p = Partitioner(8, "round-robin")
    assert len({p.choose("user-7") for _ in range(20)}) == 1


def test_round_robin_cycles_unkeyed_records() -> None:
    p = Partitioner(3, "round-robin")
    assert [p.choose(None) for _ in range(6)] == [0, 1, 2, 0, 1, 2]


def test_sticky_fills_a_batch_before_moving_on() -> None:
    p = Partitioner(3, "sticky", batch=2)
    assert [p.choose(None) for _ in range(6)] == [0, 0, 1, 1, 2, 2]
