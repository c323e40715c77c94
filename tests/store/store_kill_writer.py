"""Writer for the hard-kill test: appends forever, printing each acknowledged append.

Run as ``python store_kill_writer.py STORE CYCLE``. A line is printed (and
flushed) only after ``append`` has returned, so every printed line is a promise
the store must keep after the process is killed with SIGKILL.
"""

from __future__ import annotations

import sys

import msgspec

from simulator.store import Appended, NewEvent, SqliteEventStore

STREAMS = tuple(f"stream-{i}" for i in range(5))


def payload(stream_id: str, version: int, cycle: int) -> bytes:
    # Sizes from a few bytes to several pages, so commits cross page boundaries.
    padding = "x" * ((version * 977 + cycle * 131) % 9000)
    return msgspec.json.encode(
        {"stream": stream_id, "version": version, "cycle": cycle, "padding": padding}
    )


def main(path: str, cycle: int) -> None:
    store = SqliteEventStore(path)
    versions = {stream_id: store.stream_version(stream_id) for stream_id in STREAMS}
    n = 0
    while True:
        stream_id = STREAMS[(n * 3 + cycle) % len(STREAMS)]
        count = 1 + (n + cycle) % 4
        start = versions[stream_id]
        events = [
            NewEvent(type="test.written", schema_version=1, data=payload(stream_id, v, cycle))
            for v in range(start + 1, start + count + 1)
        ]
        result = store.append(stream_id, events, start, recorded_at_ms=cycle * 10**9 + n)
        if not isinstance(result, Appended):
            print(f"CONFLICT {result}", flush=True)
            sys.exit(3)
        versions[stream_id] = result.version
        # One write of the whole line: print() writes the text and the newline apart,
        # and a kill between the two has left a line split in the pipe.
        sys.stdout.write(
            f"{stream_id} {start + 1} {result.version} {result.first_position} "
            f"{result.last_position}\n"
        )
        sys.stdout.flush()
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
