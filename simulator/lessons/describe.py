"""One-line, human descriptions of trace records, shared by every view.

The headless player, the TUI's trace log and handouts all describe records
the same way: ``m12 key=order-3 → orders/2 @5``. Views add colour; the words
come from here.
"""

from __future__ import annotations

from simulator.trace import DeadLetterHeaders, Record

__all__ = ["describe", "kind_of"]

_SKIP = frozenset({"seq", "at", "component", "cause_seq"})


def kind_of(record: Record) -> str:
    return type(record).__name__


def _tp(topic: object, partition: object) -> str:
    return f"{topic}/{partition}" if partition is not None else str(topic)


def _at(offset: object) -> str:
    """``@offset`` in a log; nothing for queue brokers, which have no offsets."""
    return f"@{offset}" if offset is not None else ""


def describe(r: Record) -> str:
    """A short description of what the record says happened."""
    f = {name: getattr(r, name) for name in r.__struct_fields__ if name not in _SKIP}
    kind = kind_of(r)
    msg = f"m{f['msg']}" if f.get("msg") is not None else ""
    key = f" key={f['key']}" if f.get("key") is not None else ""
    if kind == "ScenarioStarted":
        return f"{f['scenario']} seed={f['seed']} broker={f['broker']} ({f['follows']})"
    if kind == "Produced":
        return f"{msg}{key}#{f['key_seq']} → {f['topic']}" if f["key"] else f"{msg} → {f['topic']}"
    if kind == "Appended":
        extra = f" pseq={f['producer_seq']}" if f.get("producer_seq") is not None else ""
        txn = f" txn={f['txn']}" if f.get("txn") else ""
        dead = " TOMBSTONE" if f.get("tombstone") else ""
        return f"{msg}{key} @{f['offset']} from {f['producer']}{extra}{txn}{dead}"
    if kind == "Acked":
        placed = f["offset"] is not None
        where = f" {_tp(f['topic'], f['partition'])}@{f['offset']}" if placed else ""
        return f"{msg}{where}"
    if kind == "SentUnacknowledged":
        return f"{msg} → {f['topic']} (no acknowledgement asked: nobody will know if it arrives)"
    if kind == "Delivered":
        again = " REDELIVERED" if f["redelivered"] else ""
        count = f.get("delivery_count")
        if count is not None:
            again += f" x-delivery-count={count}"
        where = f"{_tp(f['topic'], f['partition'])}{_at(f['offset'])}"
        return f"{msg}{key} {where} → {f['group']}{again}"
    if kind == "DeadLettered":
        return f"{msg}{key} {f['group']} → {f['destination']}: {f['reason']}{_x_death(r)}"
    if kind == "Processed":
        txn = f" txn={f['txn']}" if f.get("txn") else ""
        order = f"#{f['key_seq']}" if f["key"] is not None else ""
        return f"{msg}{key}{order} {_tp(f['topic'], f['partition'])}{_at(f['offset'])}{txn}"
    if kind == "Committed":
        return f"{f['topic']}/{f['partition']} next={f['offset']} by {f['consumer']}"
    if kind == "Rebalanced":
        owners = "; ".join(f"{m}: {','.join(tps) or '-'}" for m, tps in f["assignment"].items())
        return f"gen {f['generation']} ({f['assignor']}) {owners}"
    if kind == "PositionReset":
        return f"{f['topic']}/{f['partition']} from {f['offset']} ({f['reason']})"
    if kind == "DuplicateDetected":
        return f"{msg}{key} processed again by {f['group']} (first: #{f['first_seq']})"
    if kind == "OrderViolated":
        return (
            f"{msg} key={f['key']}#{f['key_seq']} after #{f['after_key_seq']} from"
            f" {f['producer']} in {f['group']} (see #{f['after_seq']})"
        )
    if kind == "MessageLost":
        return f"{msg}{key} never processed by {f['group']}: {f['reason']}"
    if kind == "MessageDropped":
        return f"{msg}{key} sent unacknowledged, never processed by {f['group']}: {f['reason']}"
    if kind == "Crashed":
        return f"at {f['point']}" if f["point"] else "crashed"
    if kind == "ProduceRetried":
        why = f" ({f['reason']})" if f.get("reason") else ""
        return f"{msg} attempt {f['attempt']} after {f['backoff_ms']} ms{why}"
    if kind == "RetryScheduled":
        via = f" via {f['via']}" if f["via"] else ""
        return f"{msg} attempt {f['attempt']} in {f['delay_ms']} ms{via}"
    queue_text = _describe_queue_record(kind, f, msg, key)
    if queue_text is not None:
        return queue_text
    cluster_text = _describe_cluster_record(kind, f)
    if cluster_text is not None:
        return cluster_text
    flow_text = _describe_flow_record(kind, f, msg)
    if flow_text is not None:
        return flow_text
    store_text = _describe_store_record(kind, f, r.at)
    if store_text is not None:
        return store_text
    parts = [msg] if msg else []
    for name, value in f.items():
        if name in ("msg", "key") or value is None or value == []:
            continue
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else value
        parts.append(f"{name}={shown}")
    if key:
        parts.insert(1 if msg else 0, key.strip())
    return " ".join(parts)


def _x_death(r: Record) -> str:
    """`` (x-death ×1 from jobs [job])`` — RabbitMQ's dead-letter headers, briefly.

    The latest death's count, exchange and routing keys; earlier deaths in other
    queues or for other reasons, and the first death when it was somewhere else.
    """
    headers = getattr(r, "headers", None)
    if not isinstance(headers, DeadLetterHeaders):
        return ""
    latest, *earlier = headers.x_death
    text = f" (x-death ×{latest.count} from {latest.exchange} [{','.join(latest.routing_keys)}]"
    if earlier:
        text += "; before: " + ", ".join(f"{d.reason}×{d.count} in {d.queue}" for d in earlier)
    if (headers.first_death_queue, headers.first_death_reason) != (latest.queue, latest.reason):
        text += f"; first: {headers.first_death_reason} in {headers.first_death_queue}"
    return text + ")"


def _describe_queue_record(kind: str, f: dict[str, object], msg: str, key: str) -> str | None:
    """Descriptions of the RabbitMQ- and SQS-style records."""
    if kind == "Routed":
        queues = f["queues"]
        where = ", ".join(str(q) for q in queues) if isinstance(queues, list) and queues else ""
        return f"{msg}{key} {f['exchange']} → {where or 'no queue (unroutable, dropped)'}"
    if kind == "Enqueued":
        extra = " EXTRA COPY" if f["copy"] else ""
        later = f" visible in {f['visible_in_ms']} ms" if f["visible_in_ms"] else ""
        return f"{msg}{key} → {f['group']}{extra}{later}"
    if kind == "DeliveryAcked":
        many = f" multiple ({f['count']} settled)" if f["multiple"] else ""
        return f"{msg} tag {f['delivery_tag']} by {f['consumer']}{many}"
    if kind == "Nacked":
        return f"{msg} tag {f['delivery_tag']} by {f['consumer']} requeue={f['requeue']}"
    if kind == "Requeued":
        return f"{msg} back into {f['group']} at position {f['position']} ({f['reason']})"
    if kind in ("MessageExpired", "QueueOverflowed"):
        why = f["reason"] if kind == "MessageExpired" else f["overflow"]
        return f"{msg}{key} in {f['group']}: {why}"
    if kind == "VisibilityExpired":
        return f"{msg} visible again in {f['group']} (received {f['receive_count']}×)"
    if kind == "VisibilityChanged":
        if f["timeout_ms"] == 0:
            return f"{msg} given back by {f['consumer']}: visible again at once"
        return f"{msg} hidden {f['timeout_ms']} ms more by {f['consumer']}"
    if kind in ("VisibilityChangeFailed", "DeleteFailed"):
        return f"{msg} by {f['consumer']}: {f['reason']}"
    if kind == "MessageDeleted":
        return f"{msg} from {f['group']} by {f['consumer']} (received {f['receive_count']}×)"
    if kind == "DedupDropped":
        return f"{msg} in {f['group']}: dedup id {f['dedup_id']} seen with m{f['first_msg']}"
    if kind == "Redriven":
        return f"{msg} {f['source']} → {f['group']}"
    if kind == "LambdaInvoked":
        msgs = f["msgs"]
        batch = ",".join(f"m{m}" for m in msgs) if isinstance(msgs, list) else ""
        return f"{f['consumer']} with [{batch}]"
    if kind == "BatchItemFailed":
        return f"{msg} reported failed by {f['consumer']}"
    return _describe_durability_record(kind, f, msg, key)


def _describe_durability_record(kind: str, f: dict[str, object], msg: str, key: str) -> str | None:
    """Descriptions of node failures, quorum queues, back-pressure and Lambda scaling."""
    if kind == "MessageLostOnRestart":
        return f"{msg}{key} gone from {f['group']} after the restart: {f['reason']}"
    if kind == "PublishDropped":
        return f"{msg}{key} dropped, not stored in {f['group']}: {f['reason']}"
    if kind == "QueueUnavailable":
        return f"{f['group']} unavailable: {f['reason']}"
    if kind == "QueueAvailable":
        return f"{f['group']} served again, from {f['node']}"
    if kind == "QuorumLeaderElected":
        votes = f["votes"]
        members = f["members"]
        n_votes = len(votes) if isinstance(votes, list) else 0
        n_members = len(members) if isinstance(members, list) else 0
        return (
            f"{f['group']} leader {f['leader']} (term {f['term']}, {n_votes} of {n_members} votes)"
        )
    if kind == "QuorumWriteCommitted":
        replicas = f["replicas"]
        shown = ",".join(str(r) for r in replicas) if isinstance(replicas, list) else ""
        return f"{msg} in {f['group']} #{f['index']} on a majority: {shown}"
    if kind == "ClientReconnected":
        return f"{f['client']} connected to {f['node']}"
    if kind == "PublisherBlocked":
        return f"{f['producer']} holds its publishes: {f['reason']}"
    if kind == "PublisherUnblocked":
        return f"{f['producer']} sends {f['held']} held publishes after {f['blocked_ms']} ms"
    if kind == "LambdaScaled":
        return f"{f['consumer']} runs {f['concurrency']} batches at once ({f['reason']})"
    if kind == "LambdaThrottled":
        msgs = f["msgs"]
        batch = ",".join(f"m{m}" for m in msgs) if isinstance(msgs, list) else ""
        return (
            f"{f['consumer']} [{batch}] throttled: {f['running']} running,"
            f" reserved {f['reserved']}: back after the visibility timeout"
        )
    return None


def _msgs(value: object) -> str:
    return ",".join(f"m{m}" for m in value) if isinstance(value, list) else ""


def _describe_cluster_record(kind: str, f: dict[str, object]) -> str | None:
    """Descriptions of a Kafka cluster's records: replicas, leaders, durability, scaling."""
    if kind == "PowerLost":
        targets = f["targets"]
        return "power lost: " + (
            ", ".join(str(t) for t in targets) if isinstance(targets, list) else ""
        )
    if kind in ("ScaledOut", "ScaledIn"):
        names = f["added"] if kind == "ScaledOut" else f["removed"]
        shown = ",".join(str(n) for n in names) if isinstance(names, list) else ""
        sign = "+" if kind == "ScaledOut" else "-"
        return f"{f['group']} → {f['consumers']} consumers ({sign}{shown}) at lag {f['lag']}"
    if kind == "PartitionsAdded":
        return f"{f['topic']} now has {f['partitions']} partitions (+{f['added']})"
    if kind == "MetadataRefreshed":
        if f["partition"] is None:
            return f"{f['client']}: {f['topic']} has {f['partitions']} partitions ({f['reason']})"
        leader = f["leader"] if f["leader"] is not None else "no leader"
        return (
            f"{f['client']}: {_tp(f['topic'], f['partition'])} leader {leader}"
            f" (epoch {f['leader_epoch']}) after {f['reason']}"
        )
    if "topic" not in f or "partition" not in f:
        return None
    tp = _tp(f["topic"], f["partition"])
    if kind == "LeaderElected":
        isr = ",".join(str(b) for b in f["isr"]) if isinstance(f["isr"], list) else ""
        unclean = " UNCLEAN" if f["unclean"] else ""
        return (
            f"{tp} leader {f['leader']} epoch {f['leader_epoch']}{unclean} isr=[{isr}]"
            f" end={f['log_end_offset']} hw={f['high_watermark']} ({f['reason']})"
        )
    if kind == "PartitionOffline":
        isr = ",".join(str(b) for b in f["isr"]) if isinstance(f["isr"], list) else ""
        return f"{tp} OFFLINE: no leader (isr=[{isr}] all down; {f['reason']})"
    if kind == "ReplicaFetched":
        return (
            f"{tp} {f['broker']} copied {f['records']} from {f['leader']} @{f['from_offset']}"
            f" → end {f['log_end_offset']}"
        )
    if kind in ("IsrShrunk", "IsrExpanded"):
        moved = f["removed"] if kind == "IsrShrunk" else f["added"]
        shown = ",".join(str(b) for b in moved) if isinstance(moved, list) else ""
        isr = ",".join(str(b) for b in f["isr"]) if isinstance(f["isr"], list) else ""
        sign = "-" if kind == "IsrShrunk" else "+"
        why = f" ({f['reason']})" if kind == "IsrShrunk" else ""
        return f"{tp} isr {sign}{shown} → [{isr}]{why}"
    if kind == "HighWatermarkAdvanced":
        return f"{tp} hw={f['high_watermark']} on {f['leader']}: readable below it"
    if kind == "ProduceRefused":
        return f"{_msgs(f['msgs'])} {tp} by {f['broker']}: {f['error']}"
    if kind == "LogTruncatedToEpoch":
        gone = f" removed {_msgs(f['msgs'])}" if f["msgs"] else ""
        return f"{tp} on {f['broker']} back to {f['offset']} (epoch {f['leader_epoch']}){gone}"
    if kind == "PageCacheLost":
        gone = f" lost {_msgs(f['msgs'])}" if f["msgs"] else ""
        return f"{tp} on {f['broker']}: disk had up to {f['offset']}{gone}"
    return None


def _window(f: dict[str, object]) -> str:
    end = "∞" if f["end_ms"] is None else f"{f['end_ms']}"
    return f"{f['key']}@[{f['start_ms']},{end})"


def _describe_flow_record(kind: str, f: dict[str, object], msg: str) -> str | None:
    """Descriptions of the stream-processing and saga records."""
    if kind == "WatermarkAdvanced":
        return f"watermark {f['watermark_ms']} ms (max event {f['max_event_ms']}) in {f['group']}"
    if kind == "WindowOpened":
        return f"{_window(f)} opened by {msg} in {f['group']}"
    if kind in ("WindowEmitted", "WindowUpdated"):
        out = f" → m{f['out']}" if f.get("out") is not None else ""
        late = f" (late {msg})" if kind == "WindowUpdated" else ""
        return f"{_window(f)} = {f['value']} ({f['records']} records){late}{out}"
    if kind == "WindowClosed":
        return f"{_window(f)} = {f['value']} closed: state purged"
    if kind == "LateRecordDropped":
        where = f" → {f['side_output']}" if f["side_output"] else " dropped"
        return (
            f"{msg} key={f['key']} event {f['event_time_ms']} ms, window end "
            f"{f['window_end_ms']} ≤ watermark {f['watermark_ms']}{where}"
        )
    if kind == "StateRestored":
        return (
            f"{f['consumer']} read {f['entries']} records of {f['changelog']}: "
            f"{f['windows']} windows, watermark {f['watermark_ms']}"
        )
    if kind == "SagaStarted":
        return f"{f['saga']} ({f['mode']}) by {f['group']}"
    if kind == "SagaStepCompleted":
        again = " AGAIN (not idempotent)" if f.get("repeat") else ""
        return f"{f['saga']} {f['step']} done{again}"
    if kind == "SagaStepFailed":
        return f"{f['saga']} {f['step']} failed: {f['reason']}"
    if kind == "SagaCompensated":
        return f"{f['saga']} {f['step']} undone"
    if kind == "SagaTimedOut":
        return f"{f['saga']} no {f['step']} reply in {f['waited_ms']} ms"
    if kind == "SagaCompleted":
        return f"{f['saga']} {f['outcome']}"
    if kind == "SagaDuplicateIgnored":
        return f"{f['saga']} {f['what']} ({msg}) already handled: ignored by {f['group']}"
    return None


def _describe_store_record(kind: str, f: dict[str, object], at: int) -> str | None:
    """Descriptions of the event-store and CQRS records (simulator/cqrs)."""
    if kind == "AggregateLoaded":
        snap = f" from snapshot v{f['snapshot_version']}" if f["snapshot_version"] else ""
        return f"{f['command']} {f['stream']} v{f['version']}: replayed {f['replayed']}{snap}"
    if kind == "EventStored":
        late = f" visible at {f['visible_at_ms']} ms" if f["visible_at_ms"] != at else ""
        return f"{f['command']} {f['type']} {f['stream']} v{f['version']} @{f['position']}{late}"
    if kind == "VersionConflicted":
        again = f", retry in {f['retry_in_ms']} ms" if f["retry_in_ms"] is not None else ", gave up"
        return f"{f['command']} {f['stream']} expected v{f['expected']}, is v{f['actual']}{again}"
    if kind == "CommandRejected":
        return f"{f['command']} {f['stream']}: {f['reason']}"
    if kind == "UpdateLost":
        return (
            f"{f['command']} {f['stream']} decided on v{f['loaded_version']}, "
            f"appended after v{f['actual_version']} (expected version ignored)"
        )
    if kind in ("SnapshotTaken", "SnapshotDiscarded"):
        why = f": {f['reason']}" if kind == "SnapshotDiscarded" else ""
        return f"{f['stream']} v{f['version']}{why}"
    if kind == "UpcastApplied":
        types = f["types"]
        shown = ", ".join(str(t) for t in types) if isinstance(types, list) else ""
        return f"{f['stream']}: {f['events']} events read as today's schema ({shown})"
    if kind == "EventPublished":
        again = f" attempt {f['attempt']}" if f["attempt"] != 1 else ""
        return f"@{f['position']} {f['stream']} → m{f['msg']} ({f['via']}){again}"
    if kind == "EventUnpublished":
        return f"@{f['position']} {f['stream']} stored but never published"
    if kind == "Projected":
        txn = " (uncommitted)" if f.get("pending") else ""
        row = f" {f['row']}={f['value']}" if f["row"] is not None else " (no row)"
        if f.get("gap_after") is not None:
            txn += f" (gap: last applied v{f['gap_after']})"
        return f"@{f['position']} {f['stream']} v{f['version']} {f['type']} →{row}{txn}"
    if kind == "ProjectionSkipped":
        return f"@{f['position']} {f['stream']} v{f['version']}: {f['reason']}"
    if kind == "CheckpointSaved":
        atomic = " (same transaction as the rows)" if f["atomic"] else ""
        return f"{f['projector']} next={f['position']}{atomic}"
    if kind == "GapWaited":
        return f"{f['projector']} waits at @{f['position']} (head @{f['head']}): not committed"
    if kind == "GapSkipped":
        return f"{f['projector']} past @{f['position']}: {f['reason']}"
    if kind == "ReadModelQueried":
        stale = " STALE" if f["stale"] else ""
        waited = f" after {f['waited_ms']} ms" if f["waited_ms"] else ""
        if f.get("as_of_ms") is not None:
            waited += f" as of {f['as_of_ms']} ms"
        return f"{f['source']}[{f['key']}] = {f['value']} lag {f['lag_positions']}{waited}{stale}"
    if kind == "RebuildStarted":
        start = f"from @{f['from_position']}" if f.get("from_position", 1) != 1 else "from zero"
        return (
            f"{f['projector']} v{f['version']} ({f['projection']}) {f['mode']} {start} "
            f"to @{f['head']}"
        )
    if kind == "ReadModelSnapshotted":
        return f"{f['projector']} table ({f['rows']} rows) saved at checkpoint @{f['position']}"
    if kind == "RebuildProgressed":
        return f"{f['projector']} v{f['version']} at @{f['position']} of {f['head']}"
    if kind == "RebuildFinished":
        return f"{f['projector']} v{f['version']}: {f['events']} events in {f['took_ms']} ms"
    if kind == "ReadModelSwitched":
        return f"{f['projector']} reads v{f['from_version']} → v{f['to_version']}"
    if kind == "ReadModelMismatched":
        return (
            f"{f['projector']}[{f['row']}] = {f['actual']}, the log says {f['expected']}: "
            f"{f['reason']}"
        )
    return None
