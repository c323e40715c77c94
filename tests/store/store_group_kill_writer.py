"""Writer for the group-commit kill test: it SIGKILLs itself at a point it is told.

Run as ``python store_group_kill_writer.py STORE CYCLE POINT GROUP``. It hands
appends to a ``GroupCommit`` of ``GROUP`` appends and prints a line (flushed)
for each append only when its callback runs, so every printed line is a
promise the store must keep. In group number ``GROUP`` of this run (counted
from 1) it kills itself, with no chance to clean up, at ``POINT``:

- ``before_commit``: the group's rows are inserted, the COMMIT is not done;
- ``after_commit``: the COMMIT is done, no append of the group answered yet;
- ``mid_answers``: half the group's appends have been answered.

The point is chosen by the test, never a moment on the wall clock, so every
run kills at the same place.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

import msgspec

from simulator.store import AppendResult, GroupCommit, NewEvent, SqliteEventStore
from simulator.store.records import Appended

STREAMS = tuple(f"stream-{i}" for i in range(5))


def payload(stream_id: str, version: int, cycle: int) -> bytes:
    padding = "x" * ((version * 977 + cycle * 131) % 9000)
    return msgspec.json.encode(
        {"stream": stream_id, "version": version, "cycle": cycle, "padding": padding}
    )


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class KillingStore(SqliteEventStore):
    """The real store, killed before or after the commit of one chosen group."""

    def __init__(self, path: str, point: str, group: int) -> None:
        super().__init__(path)
        self.point = point
        self.kill_in = group
        self.commits = 0

    def _commit(self) -> None:
        self.commits += 1
        if self.commits == self.kill_in and self.point == "before_commit":
            die()
        super()._commit()
        if self.commits == self.kill_in and self.point == "after_commit":
            die()


def main(path: str, cycle: int, point: str, group: int, per_group: int) -> None:
    store = KillingStore(path, point, group)
    versions = {stream_id: store.stream_version(stream_id) for stream_id in STREAMS}
    answered = 0

    def answer(first_version: int) -> Callable[[AppendResult], None]:
        def on_done(result: AppendResult) -> None:
            nonlocal answered
            if not isinstance(result, Appended):
                print(f"CONFLICT {result}", flush=True)
                sys.exit(3)
            print(
                f"{result.stream_id} {first_version} {result.version} "
                f"{result.first_position} {result.last_position}",
                flush=True,
            )
            answered += 1
            in_group = answered - (store.commits - 1) * per_group
            if store.commits == group and point == "mid_answers" and in_group == per_group // 2:
                die()

        return on_done

    with GroupCommit(store, per_group) as writer:
        n = 0
        while True:  # until the kill
            stream_id = STREAMS[(n * 3 + cycle) % len(STREAMS)]
            count = 1 + (n + cycle) % 4
            start = versions[stream_id]
            events = [
                NewEvent(type="test.written", schema_version=1, data=payload(stream_id, v, cycle))
                for v in range(start + 1, start + count + 1)
            ]
            writer.append(
                stream_id,
                events,
                start,
                recorded_at_ms=cycle * 10**9 + n,
                on_done=answer(start + 1),
            )
            versions[stream_id] = start + count
            n += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
