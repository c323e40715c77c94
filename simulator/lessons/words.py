"""Every label evsim shows, in both lesson languages, in one table.

The lesson's own text (titles, narration, questions) comes from the scenario
file; the words *around* it — panel titles, column headings, states, the
sentences of a handout — come from here, so the TUI, the headless player and
the handouts call one thing by one name. A key names the concept (``lost``,
``narration``), and ``word(key, lang, **values)`` gives its text in English
(``en``) or Korean (``ko``) with any ``{placeholder}`` filled in. The Korean
terms follow the concept guide (``docs/guide/ko``): loanwords the industry uses
(컨슈머, 프로듀서, 리밸런스), 검사기 for the checker, 장애 for a fault.
"""

from __future__ import annotations

import msgspec

__all__ = ["LANGS", "WORDS", "Word", "word"]

LANGS = ("en", "ko")
"""The lesson languages, in the order the UI offers them."""


class Word(msgspec.Struct, frozen=True):
    """One label in both languages; ``{name}`` marks a value filled in when shown."""

    en: str
    ko: str


WORDS: dict[str, Word] = {
    # -- a run and its outcome: the TUI's metrics, the headless player, handouts --------------
    "produced": Word("produced", "생산"),
    "acked": Word("acked", "확인"),
    "delivered": Word("delivered", "전달"),
    "processed": Word("processed", "처리"),
    "lost": Word("lost", "유실"),
    "duplicates": Word("duplicates", "중복"),
    "dup": Word("dup", "중복"),
    "out_of_order": Word("out of order", "순서 위반"),
    "ooo": Word("ooo", "순서 위반"),
    "retries": Word("retries", "재시도"),
    "dead_lettered": Word("dead-lettered", "DLQ 이동"),
    "dlq": Word("DLQ", "DLQ"),
    "rebalances": Word("rebalances", "리밸런스"),
    "crashes": Word("crashes", "크래시"),
    "lag": Word("lag", "지연"),
    "throughput": Word("rate", "처리량"),
    "committed": Word("committed", "커밋 위치"),
    "finished": Word("run finished", "실행 종료"),
    # -- the lesson around the run --------------------------------------------------------------
    "narration": Word("Narration", "내레이션"),
    "notice": Word("What to notice", "주목할 점"),
    "beat": Word("beat", "장면"),
    "faults": Word("Faults", "장애"),
    "findings": Word("Findings", "발견 사항"),
    "no_findings": Word("No findings so far.", "아직 발견 사항이 없습니다."),
    "why": Word("Why?", "왜?"),
    "root_cause": Word("root cause", "근본 원인"),
    "no_cause": Word("This finding records no cause.", "이 발견 사항에는 기록된 원인이 없습니다."),
    "why_keys": Word(
        "enter: go to the record · escape: close", "enter: 그 레코드로 이동 · escape: 닫기"
    ),
    "why_cycle": Word(
        "cycle: the chain comes back to #{seq} here (this trace's causes go round in a circle)",
        "순환: 여기서 사슬이 #{seq}(으)로 되돌아갑니다 (이 트레이스의 원인이 원을 그리며 돕니다)",
    ),
    "why_more": Word(
        "… {count:,} more causes, not listed (go to #{seq} and ask why? again)",
        "… 원인 {count:,}개가 더 있습니다 (#{seq}(으)로 가서 다시 '왜?'를 물어보세요)",
    ),
    # -- the TUI's panels -----------------------------------------------------------------------
    "producers": Word("Producers", "프로듀서"),
    "lanes": Word("Broker", "브로커"),
    "groups": Word("Consumer groups", "컨슈머 그룹"),
    "others": Word("Other components", "기타 구성 요소"),
    "metrics": Word("Metrics", "지표"),
    "log": Word("Trace log", "트레이스 로그"),
    "no_beat": Word(
        "No narration yet — press space to play.",
        "아직 내레이션이 없습니다 — 스페이스로 재생하세요.",
    ),
    "no_narration": Word("This run has no narration.", "이 실행에는 내레이션이 없습니다."),
    "record": Word("record", "레코드"),
    "paused": Word("paused", "일시정지"),
    "playing": Word("playing", "재생 중"),
    # states of a consumer and of a group (tui.fold), shown as they are
    "running": Word("running", "실행 중"),
    "crashed": Word("crashed", "중단됨"),
    "left": Word("left", "탈퇴"),
    "restarted": Word("restarted", "재시작"),
    "stable": Word("stable", "안정"),
    "rebalancing": Word("rebalancing", "리밸런싱"),
    "joining": Word("joining", "참여 중"),
    # a Kafka cluster's replicas (tui.views.log)
    "replicas": Word("Replicas", "복제본"),
    "replica_legend": Word(
        "★ leader · ● in sync · ○ out of sync · ✖ down",
        "★ 리더 · ● 동기화된 복제본 · ○ 동기화 안 됨 · ✖ 중단됨",
    ),
    "leader_epoch": Word("epoch {n}", "에포크 {n}"),
    "high_watermark_at": Word("HW {n}", "하이 워터마크 {n}"),
    "partition_offline": Word("offline: no leader", "오프라인: 리더 없음"),
    "isr": Word("ISR", "ISR"),
    "replica_leads": Word("leads", "리더"),
    "replica_follows": Word("follows", "팔로워"),
    "broker_down": Word("down", "중단됨"),
    # the event store and read models panel
    "store": Word("Event store & read models", "이벤트 저장소와 읽기 모델"),
    "head": Word("head", "헤드"),
    "streams": Word("streams", "스트림"),
    "conflicts": Word("conflicts", "버전 충돌"),
    "rejected": Word("rejected", "거부"),
    "reads_version": Word("reads", "읽기"),
    "checkpoint": Word("checkpoint", "체크포인트"),
    "rebuild": Word("rebuild", "재구축"),
    "rebuilt": Word("last rebuild, events", "마지막 재구축 이벤트"),
    "query": Word("query", "조회"),
    # stream processors and sagas
    "windows": Word("Stream processors", "스트림 처리기"),
    "watermark": Word("watermark", "워터마크"),
    "sagas": Word("Sagas", "사가"),
    # -- each model drawn as itself (tui/views) -------------------------------------------------
    # producers and the Kafka-style log
    "try": Word("try", "시도"),
    "dedup_dropped": Word("repeats dropped", "중복 버림"),
    "partition": Word("partition", "파티션"),
    "log_start": Word("start", "시작"),
    "records_by_key": Word("offsets (colour = key)", "오프셋 (색 = 키)"),
    "end_hw": Word("end·HW", "끝·HW"),
    "reader": Word("owner / lag", "소유 / 지연"),
    "note_key": Word("key #", "키 순번"),
    "note_seq": Word("seq #", "시퀀스"),
    "repeat_dropped": Word("a repeat of @{offset}: not appended", "@{offset}의 중복: 추가 안 함"),
    "awaiting_ack": Word("awaiting ack:", "응답 대기:"),
    "txn_bracket": Word("a transaction's records", "한 트랜잭션의 레코드"),
    "txn_aborted": Word(
        "aborted: read_committed readers skip them", "중단됨: read_committed 컨슈머는 건너뜀"
    ),
    "revoked": Word("revoked", "회수됨"),
    # RabbitMQ
    "exchanges": Word("Exchanges", "익스체인지"),
    "queues": Word("Queues", "큐"),
    "dead_letters": Word("dead letters", "데드레터"),
    "last_routed": Word("last routed", "최근 라우팅"),
    "unroutable": Word("no queue (dropped)", "큐 없음 (버려짐)"),
    "slot_legend": Word(
        "a prefetch slot: delivery tag t3 holds m5 · ↻ redelivered · dc x-delivery-count"
        " · ☠ x-death reason",
        "prefetch 슬롯: 전달 태그 t3이 m5를 보유 · ↻ 재전달 · dc x-delivery-count · ☠ x-death 사유",
    ),
    "note_acked": Word("acked", "확인함"),
    "confirms": Word("publisher confirms", "퍼블리셔 확인"),
    "no_confirms": Word("no publisher confirms", "퍼블리셔 확인 없음"),
    "dropped": Word("dropped", "버려짐"),
    "ttl_expired": Word("expired (x-message-ttl {ttl} ms)", "만료 (x-message-ttl {ttl} ms)"),
    "maxlen_dropped": Word("over x-max-length {n} ({how})", "x-max-length {n} 초과 ({how})"),
    "note_requeued": Word("nacked, requeued", "nack, 다시 큐에"),
    "note_rejected": Word("rejected", "거부함"),
    # SQS
    "topics_sns": Word("Topics", "토픽"),
    "visibility": Word("visibility", "가시성"),
    "batch_of": Word("batch", "배치"),
    "extends_visibility": Word("extends visibility", "가시성 연장"),
    "visible": Word("visible", "보임"),
    "delayed": Word("delayed", "지연"),
    "in_flight_sqs": Word("in flight", "처리 중"),
    "msg_group": Word("group", "그룹"),
    "msg_groups": Word("message groups", "메시지 그룹"),
    "dedup_by_content": Word("dedup by content (SHA-256)", "내용 기반 중복 제거(SHA-256)"),
    "dedup_repeat": Word(
        "accepted, not delivered: repeats m{first} within 5 minutes",
        "수락했지만 전달 안 함: 5분 안에 m{first}와 중복",
    ),
    "workers": Word("worker(s)", "워커"),
    "invocations": Word("invocations", "호출"),
    "sqs_deleted": Word("deleted", "삭제"),
    "sqs_stale": Word("delete refused: stale receipt handle", "삭제 거부: 낡은 수신 핸들"),
    "sqs_extended": Word("visibility extended", "가시성 연장"),
    "sqs_refused": Word("visibility change refused", "가시성 변경 거부"),
    "sqs_legend": Word(
        "⏳ visibility left before the message shows again · rc its receive count"
        " (ApproximateReceiveCount)",
        "⏳ 메시지가 다시 보이기까지 남은 가시성 시간 · rc 수신 횟수 (ApproximateReceiveCount)",
    ),
    "fifo_legend": Word(
        "🔒 a group's head is in flight: the rest of that group waits",
        "🔒 그룹의 맨 앞 메시지가 처리 중: 그 그룹의 나머지는 대기",
    ),
    # the event store and read models
    "event_store": Word("Event store", "이벤트 저장소"),
    "global_log": Word("global log", "전역 로그"),
    "snapshot": Word("snapshot", "스냅샷"),
    "loaded": Word("loaded", "로드"),
    "events": Word("events", "이벤트"),
    "conflict_line": Word(
        "version conflict: expected v{expected}, found v{actual} (try {attempt})",
        "버전 충돌: v{expected} 예상, 실제 v{actual} (시도 {attempt})",
    ),
    "lost_update_line": Word(
        "lost update: decided on v{loaded}, wrote over v{actual}",
        "갱신 유실: v{loaded}에서 결정하고 v{actual} 위에 씀",
    ),
    "outbox_rows": Word("outbox rows not yet published", "아직 발행 안 된 아웃박스 행"),
    "not_published": Word("stored, not yet published", "저장됨, 아직 발행 안 됨"),
    "never_published": Word("never published", "끝내 발행 안 됨"),
    "published_again": Word("published again", "다시 발행"),
    "read_model": Word("Read model", "읽기 모델"),
    "log_fold": Word("the log, each event once", "로그 (이벤트마다 한 번)"),
    "open_txn": Word("open transaction", "열린 트랜잭션"),
    "from_zero": Word("from zero", "처음부터"),
    "from_snapshot": Word("from the snapshot at @{position}", "@{position}의 스냅샷부터"),
    "replayed_n": Word("{n} events replayed", "이벤트 {n}개 재생"),
    "rebuilt_n": Word("last rebuild replayed {n}", "마지막 재구축에서 {n}개 재생"),
    "building_n": Word("being built: {n} replayed", "구축 중: {n}개 재생"),
    "retired": Word("retired (reads moved)", "은퇴 (읽기 이동함)"),
    "skipped": Word("skipped", "건너뜀"),
    "gap": Word("gap", "공백"),
    "saved": Word("saved (checkpoint)", "저장됨 (체크포인트)"),
    "crash_window": Word("applied, not saved: the crash window", "적용됨, 저장 안 됨: 크래시 구간"),
    "not_yet": Word("not read yet", "아직 안 읽음"),
    "checkpoint_in_group": Word(
        "checkpoint: ◉ {group}'s committed offset", "체크포인트: ◉ {group}의 커밋된 오프셋"
    ),
    # stream processors
    "event_time": Word("event time", "이벤트 시간"),
    "results": Word("results", "결과"),
    "late_side": Word("late: to the side output {topic}", "늦음: 사이드 출력 {topic}으로"),
    "late_dropped_one": Word("late: dropped", "늦음: 버려짐"),
    "arrival_order": Word("arrived", "도착 순서"),
    "processing_time": Word("processing time", "처리 시간 기준"),
    "state_lost": Word(
        "state lost with its consumer: the changelog will restore it",
        "컨슈머와 함께 상태 유실: 체인지로그가 복원할 것",
    ),
    "state_restored": Word(
        "restored {windows} windows from {entries} changelog records",
        "체인지로그 레코드 {entries}개로 윈도 {windows}개 복원",
    ),
    "stream_legend": Word(
        "[──) a window · • a record at its event time, ◆ the newest · ┊▲ the watermark"
        " · ⇠ arrived after a later one · ✗ late, dropped · ↘ late, to the side output",
        "[──) 윈도 · • 이벤트 시간 위의 레코드, ◆ 가장 최근 · ┊▲ 워터마크"
        " · ⇠ 더 늦은 이벤트보다 뒤에 도착 · ✗ 늦음, 버려짐 · ↘ 늦음, 사이드 출력으로",
    ),
    # sagas
    "saga_running": Word("running", "진행 중"),
    "saga_failed": Word("failed", "실패"),
    "saga_compensating": Word("compensating", "보상 중"),
    "saga_timed_out": Word("timed out", "시간 초과"),
    "saga_compensated": Word("compensated", "보상 완료"),
    "saga_completed": Word("completed", "완료"),
    # -- choosing a lesson (the TUI's picker, ``evsim list``) ----------------------------------
    "lessons": Word("Lessons", "레슨"),
    "filter": Word("Filter lessons…", "레슨 검색…"),
    "topology": Word("Topology", "토폴로지"),
    "tags": Word("Tags", "태그"),
    "broker_model": Word("Broker model", "브로커 모델"),
    "no_lessons": Word(
        "No lessons are shipped yet. Press o to open a scenario file.",
        "아직 제공되는 레슨이 없습니다. o를 눌러 시나리오 파일을 여세요.",
    ),
    "other_lessons": Word("More lessons", "다른 레슨"),
    "no_match": Word("No lessons match '{text}'.", "'{text}'에 맞는 레슨이 없습니다."),
    "n_beats": Word("{n} narration beats", "내레이션 장면 {n}개"),
    "n_partitions": Word("{n} partition(s)", "파티션 {n}개"),
    "n_consumers": Word("{n} consumer(s)", "컨슈머 {n}개"),
    "idempotent": Word("idempotent", "멱등"),
    "not_idempotent": Word("not idempotent", "멱등 아님"),
    "lesson_coming": Word("lesson coming", "레슨 준비 중"),
    "off_path": Word("not on the course path", "과정에 없는 레슨"),
    "asks_prediction": Word(
        "? asks a prediction question before it plays (evsim play NAME --predict N)",
        "? 실행 전에 예측 질문을 던지는 레슨 (evsim play NAME --predict N)",
    ),
    "learn": Word("Learn", "개념 학습"),
    "no_chapter": Word(
        "This lesson is not part of the course, so it has no chapter page.",
        "이 레슨은 코스에 속하지 않아 개념 페이지가 없습니다.",
    ),
    "no_guide": Word("The concept page is missing:", "개념 페이지가 없습니다:"),
    "close": Word("escape: close", "escape: 닫기"),
    # -- predict, then run (TUI dialog, headless player, handouts) ------------------------------
    "predict": Word("Predict, then run", "예측한 뒤 실행하기"),
    "question": Word("Question", "질문"),
    "predict_keys": Word(
        "1–9 or ↑↓ + enter: answer · escape: skip",
        "1–9 또는 ↑↓ + enter: 답하기 · escape: 건너뛰기",
    ),
    "predict_how": Word(
        "Pick a number, then watch the run. (Answer ahead with --predict N.)",
        "번호를 하나 고른 뒤 실행을 지켜보세요. (--predict N으로 미리 답할 수 있습니다.)",
    ),
    "predict_hint": Word(
        "Write your answer down before the lesson plays; the answer is at the end of this page.",
        "레슨을 실행하기 전에 답을 적어 두세요. 정답은 이 자료의 끝에 있습니다.",
    ),
    "prediction_outcome": Word("Predictions and the outcome", "예측과 실행 결과"),
    "your_answer": Word("your answer", "내 답"),
    "no_answer": Word("no answer", "답하지 않음"),
    "answer": Word("Answer", "정답"),
    "answers": Word("Answers", "정답"),
    "right": Word("right", "맞음"),
    "wrong": Word("not this time", "이번엔 아님"),
    "confirmed": Word("the run confirms it", "실행 결과가 확인해 줍니다"),
    "unconfirmed": Word("the run does NOT confirm it", "실행 결과가 이 답을 확인해 주지 않습니다"),
    # -- handouts (simulator.lessons.report) ---------------------------------------------
    "course": Word("Course", "과정"),
    "step": Word("step", "단계"),
    "chapter": Word("chapter", "장"),
    "topics": Word("Study-guide topics", "학습 주제"),
    "setup": Word("Setup", "구성"),
    "broker": Word("broker", "브로커"),
    "follows": Word("follows", "따르는 시스템"),
    "topic": Word("topic", "토픽"),
    "partitions": Word("partitions", "파티션"),
    "producer": Word("producer", "프로듀서"),
    "group": Word("group", "그룹"),
    "reads_topic": Word("reads", "읽는 토픽"),
    "consumers": Word("consumers", "컨슈머"),
    "commit": Word("commit", "커밋"),
    "no_faults": Word("No faults: everything works.", "장애 없음: 모든 것이 정상 동작합니다."),
    "when": Word("when", "시점"),
    "never": Word("did not fire in this run", "이번 실행에서는 나타나지 않음"),
    "no_snapshots": Word(
        "No screen snapshots in this handout. Add --svg to `evsim report` to save one SVG "
        "of the simulation screen per narration beat (the same as `evsim play {name} "
        "--svg-at-beats DIR`).",
        "이 자료에는 화면 캡처가 없습니다. `evsim report`에 --svg를 붙이면 내레이션 장면마다 "
        "시뮬레이션 화면을 SVG로 하나씩 저장합니다"
        "(`evsim play {name} --svg-at-beats DIR`와 같습니다).",
    ),
    "outcome": Word("Outcome", "결과"),
    "totals": Word(
        "produced {produced}, acked {acked}, retries {retries}, rebalances {rebalances}, "
        "virtual time {virtual_ms} ms, {trace_records} trace records.",
        "생산 {produced}, 확인 {acked}, 재시도 {retries}, 리밸런스 {rebalances}, "
        "가상 시간 {virtual_ms} ms, 트레이스 레코드 {trace_records}개.",
    ),
    "compare": Word("The same workload on every {vary}", "같은 작업량, {vary}만 바꿔서"),
    "compare_note": Word(
        "Same seed, same workload and faults; only the {vary} changes. * marks this lesson as "
        "written. Reproduce: `evsim compare {name} --vary {flag}`.",
        "시드, 작업량, 장애는 모두 같고 {vary}만 바뀝니다. *는 이 레슨 그대로의 설정입니다. "
        "재현: `evsim compare {name} --vary {flag}`.",
    ),
    "unsupported": Word("not supported", "지원 안 됨"),
    "semantics": Word("semantics", "전달 보장"),
    "max_latency": Word("max latency ms", "최대 지연 ms"),
    "expectations": Word("Expectations", "기대 결과"),
    "checker_findings": Word("What the checker found, and why", "검사기가 찾은 문제와 그 원인"),
    "checker_found_nothing": Word(
        "The checker found nothing: no message lost or silently dropped, duplicated or"
        " processed out of order, no lost update, unpublished event or wrong read model.",
        "검사기가 찾은 문제가 없습니다. 잃어버리거나 조용히 버려지거나, 중복되거나, 순서가 어긋난"
        " 메시지가 없고, 잃어버린 갱신이나 발행되지 않은 이벤트, 틀린 읽기 모델도 없습니다.",
    ),
    "caused_by": Word("caused by, nearest first:", "원인(가까운 것부터):"),
    "more_findings": Word(
        "… and {n} more findings of the same kinds (see `evsim play {name}`).",
        "… 같은 종류의 문제가 {n}건 더 있습니다(`evsim play {name}`로 확인).",
    ),
    "reproduce": Word("Reproduce", "재현하기"),
    "reproduce_text": Word(
        "Every run of this lesson with seed {seed} gives the same trace (digest {digest}).",
        "이 레슨을 시드 {seed}로 실행하면 언제나 같은 트레이스가 나옵니다(다이제스트 {digest}).",
    ),
    # -- the stage: motion, the sequence diagram, timers (the TUI) ---------------------------
    "queue": Word("queue", "큐"),
    "ready": Word("ready", "대기"),
    "unacked": Word("unacked", "미확인"),
    "failed": Word("failed", "실패"),
    "head_tail": Word("head → tail", "앞 → 뒤"),
    # a RabbitMQ cluster (tui.views.rabbitmq)
    "cluster": Word("Cluster", "클러스터"),
    "cluster_note": Word(
        "quorum queues are Raft groups: ★ leader", "쿼럼 큐는 Raft 그룹입니다: ★ 리더"
    ),
    "node_up": Word("up", "정상"),
    "leader": Word("leader", "리더"),
    "follower": Word("follower", "팔로워"),
    "term": Word("term", "텀"),
    "no_leader": Word("no leader", "리더 없음"),
    "unavailable": Word("unavailable", "사용 불가"),
    "clients": Word("clients", "클라이언트"),
    "publisher_blocked": Word("blocked (connection.blocked)", "막힘(connection.blocked)"),
    "cut_off": Word("cut off", "끊김"),
    "classic_queue": Word("classic", "클래식"),
    "quorum_queue": Word("quorum", "쿼럼"),
    "committed_on": Word("committed #{index} on {members}", "커밋 #{index}: {members}"),
    "on_node": Word("on {node}", "{node}에 있음"),
    "timers": Word("Timers", "타이머"),
    "time": Word("time", "시간"),
    "flow": Word("Flow", "흐름"),
    "settings": Word("Settings", "설정"),
    "settings_keys": Word(
        "enter: change · a: apply and re-run · escape: cancel",
        "enter: 바꾸기 · a: 적용하고 다시 실행 · escape: 취소",
    ),
    "as_written": Word("lesson as written", "레슨 원래 값"),
    "motion": Word("motion (chips travel between stages)", "움직임 (칩이 단계 사이를 이동)"),
    "on": Word("on", "켜짐"),
    "off": Word("off", "꺼짐"),
    "loading_sim": Word("running the simulation…", "시뮬레이션 실행 중…"),
    "reading_file": Word("reading the file {percent}%", "파일 읽는 중 {percent}%"),
    "bad_line_stop": Word(
        "a bad line at line {line:,}: the file plays up to it",
        "{line:,}번째 줄이 잘못됨: 그 앞까지 재생",
    ),
    "not_read_yet": Word(
        "record {target:,} is not read yet: {read:,} of about {total:,} records so far"
        " ({percent}%)",
        "레코드 {target:,}은(는) 아직 읽지 않음: 지금까지 약 {total:,}개 중 {read:,}개"
        " ({percent}%)",
    ),
    "loading_trace": Word("reading the trace…", "트레이스 읽는 중…"),
    "run_failed": Word(
        "This run cannot be shown: {error}", "이 실행은 보여 줄 수 없습니다: {error}"
    ),
    "loading_narration": Word("The run is being prepared…", "실행을 준비하는 중입니다…"),
    "speed_time": Word("{speed}× virtual time", "가상 시간 {speed}배"),
    "speed_records": Word("{speed} records/s", "초당 레코드 {speed}개"),
    "presenter_hint": Word(
        "presenter: PgDn/PgUp next/previous beat", "발표자: PgDn/PgUp 다음/이전 장면"
    ),
    "changed_note": Word(
        "This narration was written for the lesson's own settings; you are playing {what}.",
        "이 내레이션은 레슨 원래 설정을 기준으로 쓰였습니다. 지금 재생 중인 것: {what}.",
    ),
    "changed_settings": Word("changed settings", "바뀐 설정"),
    "adopted_branch": Word("an adopted branch", "채택한 분기"),
    "discarded": Word("back to the lesson as written", "레슨 원래대로 돌아왔습니다"),
    "nothing_to_discard": Word("nothing to discard", "되돌릴 변경이 없습니다"),
    "leave_question": Word(
        "Leave this lesson? You have {what}; they will be lost.",
        "이 레슨을 떠날까요? {what}이(가) 있으며, 떠나면 사라집니다.",
    ),
    "leave": Word("leave", "떠나기"),
    "stay": Word("stay", "머무르기"),
    "unknown_trace": Word(
        "This trace comes from a scenario evsim does not ship ({name}): no narration.",
        "evsim에 없는 시나리오({name})의 트레이스입니다: 내레이션이 없습니다.",
    ),
    "sequence": Word("Sequence", "시퀀스"),
    "fired": Word("fired", "만료"),
    "no_timers": Word("No timer running.", "실행 중인 타이머가 없습니다."),
    "timer_visibility": Word("visibility", "가시성 타임아웃"),
    "timer_retry": Word("retry backoff", "재시도 대기"),
    "timer_backoff": Word("send backoff", "전송 재시도 대기"),
    "timer_session": Word("session timeout", "세션 타임아웃"),
    "timer_max.poll": Word("max.poll.interval", "max.poll.interval"),
    "timer_auto-commit": Word("auto-commit", "자동 커밋"),
    "timer_dedup": Word("dedup window", "중복 제거 기간"),
    "timer_ttl": Word("TTL", "TTL"),
    "timer_saga": Word("step timeout", "단계 타임아웃"),
    # -- key bindings: the footer's short names (key_…) and the help's sentences (tip_…) --------
    "key_toggle_play": Word("Play/pause", "재생/정지"),
    "tip_toggle_play": Word(
        "Play / pause (presenter mode stops at every narration beat)",
        "재생 / 일시정지 (발표자 모드는 장면마다 멈춤)",
    ),
    "key_step": Word("Step", "한 단계"),
    "tip_step": Word(
        "Step forward one record (its chip moves)", "레코드 하나 앞으로 (칩이 움직임)"
    ),
    "key_back": Word("Back", "뒤로"),
    "tip_back": Word(
        "Step back one record (its chip moves back)", "레코드 하나 뒤로 (칩이 되돌아감)"
    ),
    "key_toggle_view": Word("Flow/Sequence", "흐름/시퀀스"),
    "tip_toggle_view": Word(
        "Switch the main view: the flow, or the sequence diagram",
        "주 화면 전환: 흐름 또는 시퀀스 다이어그램",
    ),
    "key_speed_mode": Word("Speed mode", "속도 방식"),
    "tip_speed_mode": Word(
        "Speed in virtual time (× real time) or in records per second",
        "속도 기준: 가상 시간(실제 시간의 배수) 또는 초당 레코드 수",
    ),
    "key_discard": Word("Discard changes", "변경 취소"),
    "tip_discard": Word(
        "Discard an adopted branch and changed settings: the lesson as written",
        "채택한 분기와 바꾼 설정을 버리고 레슨 원래대로",
    ),
    "key_next_mark": Word("Next fault", "다음 장애"),
    "tip_next_mark": Word("Jump to the next fault or finding", "다음 장애나 발견 사항으로 이동"),
    "key_previous_mark": Word("Prev fault", "이전 장애"),
    "tip_previous_mark": Word(
        "Jump to the previous fault or finding", "이전 장애나 발견 사항으로 이동"
    ),
    "key_slower": Word("Slower", "느리게"),
    "tip_slower": Word("Play slower (down to 0.25×)", "더 느리게 재생 (최저 0.25배)"),
    "key_faster": Word("Faster", "빠르게"),
    "tip_faster": Word(
        "Play faster (up to 1000×; end jumps to the end)",
        "더 빠르게 재생 (최고 1000배, end는 끝으로)",
    ),
    "key_home": Word("Start", "처음"),
    "tip_home": Word("Go to the start (record 0)", "처음으로 (레코드 0)"),
    "key_end": Word("End", "끝"),
    "tip_end": Word("Jump to the end of the run", "실행의 끝으로 이동"),
    "key_restart": Word("Restart", "다시 시작"),
    "tip_restart": Word("Restart from the beginning", "처음부터 다시 시작"),
    "key_goto": Word("Go to", "이동"),
    "tip_goto": Word(
        "Go to a record number or a virtual time (2.5s, 800ms)",
        "레코드 번호나 가상 시간으로 이동 (2.5s, 800ms)",
    ),
    "key_next_beat": Word("Next beat", "다음 장면"),
    "tip_next_beat": Word("Next narration beat", "다음 내레이션 장면"),
    "key_previous_beat": Word("Prev beat", "이전 장면"),
    "tip_previous_beat": Word("Previous narration beat", "이전 내레이션 장면"),
    "key_fork": Word("Fork", "분기"),
    "tip_fork": Word(
        "Fork: inject a fault at the cursor, compare original and branch",
        "분기: 커서 위치에 장애를 넣고 원래 실행과 비교",
    ),
    "key_settings": Word("Settings", "설정"),
    "tip_settings": Word(
        "Settings: this lesson's model's knobs, the store's and projectors'; re-run",
        "설정: 이 레슨 모델의 설정, 저장소와 프로젝터 설정을 바꾸고 다시 실행",
    ),
    "key_filter": Word("Filter log", "로그 필터"),
    "tip_filter": Word(
        "Filter the trace log by component or kind", "트레이스 로그를 구성 요소나 종류로 거르기"
    ),
    "key_why": Word("Why?", "왜?"),
    "tip_why": Word(
        "Why? Walk the selected finding's causes back to the root",
        "왜? 선택한 발견 사항의 원인을 근본 원인까지 따라가기",
    ),
    "key_presenter": Word("Presenter", "발표자"),
    "tip_presenter": Word(
        "Presenter mode: calm, high contrast, pauses at beats",
        "발표자 모드: 차분한 고대비 화면, 장면마다 멈춤",
    ),
    "key_learn": Word("Learn", "개념 학습"),
    "tip_learn": Word(
        "Learn: the concept page of this lesson's chapter",
        "개념 학습: 이 레슨이 속한 장의 개념 페이지",
    ),
    "key_outcome": Word("Predictions", "예측"),
    "tip_outcome": Word(
        "Predictions: your answers against the run's outcome (asks them if unanswered)",
        "예측: 내 답과 실행 결과 비교 (답하지 않았으면 질문)",
    ),
    "key_export_svg": Word("SVG", "SVG"),
    "tip_export_svg": Word("Export the screen as an SVG file", "화면을 SVG 파일로 저장"),
    "key_close": Word("Lessons", "레슨 목록"),
    "tip_close": Word("Back to the lesson picker", "레슨 선택 화면으로 돌아가기"),
    "key_help": Word("Help", "도움말"),
    "tip_help": Word("This help: every key", "이 도움말: 모든 키"),
    "key_toggle_lang": Word("EN/한국어", "EN/한국어"),
    "tip_toggle_lang": Word("Switch the language: English / 한국어", "언어 전환: English / 한국어"),
    "key_quit": Word("Quit", "종료"),
    "tip_quit": Word("Quit evsim", "evsim 종료"),
    "key_open": Word("Open", "열기"),
    "tip_open": Word("Open the highlighted lesson", "선택한 레슨 열기"),
    "key_open_file": Word("Open file", "파일 열기"),
    "tip_open_file": Word(
        "Open a scenario file (.toml) or a trace (.jsonl)",
        "시나리오 파일(.toml)이나 트레이스(.jsonl) 열기",
    ),
    "key_focus_filter": Word("Filter", "검색"),
    "tip_focus_filter": Word(
        "Filter lessons by title, summary, tag", "제목, 요약, 태그로 레슨 검색"
    ),
    "key_clear_filter": Word("Clear filter", "검색 지우기"),
    "tip_clear_filter": Word("Clear the filter", "검색어 지우기"),
    "help_title": Word("evsim — keys", "evsim — 키"),
    "help_close": Word("escape or ? closes this screen", "escape나 ?로 이 화면을 닫습니다"),
    "help_simulation": Word("Simulation", "시뮬레이션"),
    "help_picker": Word("Lesson picker", "레슨 선택"),
    "help_everywhere": Word("Everywhere", "어디서나"),
    "help_learn": Word("Learn (a chapter's concept page)", "개념 학습 (장의 개념 페이지)"),
    "help_predict": Word("Predict, then run", "예측한 뒤 실행하기"),
    "help_dialogs": Word("Dialogs", "대화 상자"),
    "help_sequence": Word(
        "Sequence diagram (when it has focus)", "시퀀스 다이어그램 (포커스가 있을 때)"
    ),
    "tip_answer": Word(
        "answer the question with that choice (1–9)", "그 번호로 질문에 답하기 (1–9)"
    ),
    "tip_highlight": Word(
        "highlight a choice; enter answers with it", "선택지 고르기, enter로 답하기"
    ),
    "tip_skip": Word(
        "skip the questions (the outcome still shows the key)",
        "질문 건너뛰기 (결과 화면에 정답은 나옴)",
    ),
    "tip_choose": Word("choose / change the highlighted row", "선택한 줄 고르기 / 바꾸기"),
    "tip_apply": Word("settings: apply and re-run", "설정: 적용하고 다시 실행"),
    "tip_close_dialog": Word("close the dialog", "대화 상자 닫기"),
    "tip_row": Word("move the player to the row above / below", "위 / 아래 줄로 플레이어 이동"),
    "tip_row_why": Word(
        "open the row's record and its why? chain", "그 줄의 레코드와 원인 사슬 열기"
    ),
}
"""Key → the label in both languages."""


def word(key: str, lang: str, **values: object) -> str:
    """The label ``key`` in ``lang`` (``ko``; anything else is English), values filled in.

    An unknown key raises ``KeyError``: a label missing from the table is a bug,
    and the tests scan every ``word("…")`` call for one.
    """
    entry = WORDS[key]
    text = entry.ko if lang == "ko" else entry.en
    return text.format(**values) if values else text
