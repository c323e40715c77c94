"""The TUI's own words in both lesson languages (lesson text comes from the scenario)."""

from __future__ import annotations

from rich.cells import set_cell_size

__all__ = ["fit", "t"]


def fit(text: str, cells: int) -> str:
    """Pad or cut ``text`` to exactly ``cells`` terminal cells (Hangul takes two each)."""
    return set_cell_size(text, cells)


_WORDS: dict[str, tuple[str, str]] = {
    "producers": ("Producers", "프로듀서"),
    "lanes": ("Broker", "브로커"),
    "groups": ("Consumer groups", "컨슈머 그룹"),
    "others": ("Other components", "기타 구성 요소"),
    "narration": ("Narration", "내레이션"),
    "notice": ("What to notice", "주목할 점"),
    "metrics": ("Metrics", "지표"),
    "findings": ("Findings", "발견 사항"),
    "log": ("Trace log", "트레이스 로그"),
    "no_beat": (
        "No narration yet — press space to play.",
        "아직 내레이션이 없습니다 — 스페이스로 재생하세요.",
    ),
    "no_narration": ("This run has no narration.", "이 실행에는 내레이션이 없습니다."),
    "no_findings": ("No findings so far.", "아직 발견 사항이 없습니다."),
    "lessons": ("Lessons", "레슨"),
    "filter": ("Filter lessons…", "레슨 검색…"),
    "topology": ("Topology", "토폴로지"),
    "faults": ("Faults", "장애"),
    "tags": ("Tags", "태그"),
    "broker": ("Broker model", "브로커 모델"),
    "no_lessons": (
        "No lessons are shipped yet. Press o to open a scenario file.",
        "아직 제공되는 레슨이 없습니다. o를 눌러 시나리오 파일을 여세요.",
    ),
    "processed": ("processed", "처리"),
    "produced": ("produced", "생산"),
    "acked": ("acked", "확인"),
    "lost": ("lost", "유실"),
    "duplicates": ("duplicates", "중복"),
    "out_of_order": ("out of order", "순서 위반"),
    "retries": ("retries", "재시도"),
    "dlq": ("DLQ", "DLQ"),
    "rebalances": ("rebalances", "리밸런스"),
    "crashes": ("crashes", "크래시"),
    "lag": ("lag", "지연"),
    "throughput": ("rate", "처리량"),
    "in_flight": ("in flight", "처리 중"),
    "running": ("running", "실행 중"),
    "crashed": ("crashed", "중단됨"),
    "left": ("left", "탈퇴"),
    "restarted": ("restarted", "재시작"),
    "stable": ("stable", "안정"),
    "rebalancing": ("rebalancing", "리밸런싱"),
    "joining": ("joining", "참여 중"),
    "record": ("record", "레코드"),
    "paused": ("paused", "일시정지"),
    "playing": ("playing", "재생 중"),
    "beat": ("beat", "장면"),
    "why": ("Why?", "왜?"),
    "finished": ("run finished", "실행 종료"),
    "committed": ("committed", "커밋 위치"),
    "dup": ("dup", "중복"),
    "ooo": ("ooo", "순서 위반"),
    "store": ("Event store & read models", "이벤트 저장소와 읽기 모델"),
    "head": ("head", "헤드"),
    "streams": ("streams", "스트림"),
    "conflicts": ("conflicts", "버전 충돌"),
    "rejected": ("rejected", "거부"),
    "reads": ("reads", "읽기"),
    "checkpoint": ("checkpoint", "체크포인트"),
    "rebuild": ("rebuild", "재구축"),
    "rebuilt": ("last rebuild, events", "마지막 재구축 이벤트"),
    "query": ("query", "조회"),
    "windows": ("Stream processors", "스트림 처리기"),
    "watermark": ("watermark", "워터마크"),
    "open": ("open windows", "열린 윈도"),
    "emitted": ("emitted", "방출"),
    "late": ("late dropped", "늦은 레코드 버림"),
    "restored": ("restored", "복원"),
    "sagas": ("Sagas", "사가"),
    "steps": ("steps", "단계"),
    "other_lessons": ("More lessons", "다른 레슨"),
    "learn": ("Learn", "개념 학습"),
    "no_chapter": (
        "This lesson is not part of the course, so it has no chapter page.",
        "이 레슨은 코스에 속하지 않아 개념 페이지가 없습니다.",
    ),
    "no_guide": ("The concept page is missing:", "개념 페이지가 없습니다:"),
    "learn_keys": (
        "l: English / 한국어 · escape: close",
        "l: English / 한국어 · escape: 닫기",
    ),
    "predict": ("Predict, then run", "예측한 뒤 실행하기"),
    "question": ("Question", "질문"),
    "predict_keys": (
        "1–9 or ↑↓ + enter: answer · escape: skip",
        "1–9 또는 ↑↓ + enter: 답하기 · escape: 건너뛰기",
    ),
    "outcome": ("Predictions and the outcome", "예측과 실행 결과"),
    "your_answer": ("your answer", "내 답"),
    "no_answer": ("no answer", "답하지 않음"),
    "answer": ("answer", "정답"),
    "right": ("right", "맞음"),
    "wrong": ("not this time", "이번엔 아님"),
    "confirmed": ("the run confirms it", "실행 결과가 확인해 줍니다"),
    "unconfirmed": ("the run does NOT confirm it", "실행 결과가 이 답을 확인해 주지 않습니다"),
    "close": ("escape: close", "escape: 닫기"),
}


def t(word: str, lang: str) -> str:
    """The UI word in ``lang`` (``en`` or ``ko``); unknown words come back as given."""
    pair = _WORDS.get(word)
    if pair is None:
        return word
    return pair[1] if lang == "ko" else pair[0]
