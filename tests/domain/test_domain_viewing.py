"""Viewing activity: resume where you paused; the continue-watching row."""

from __future__ import annotations

from simulator.domain import Rejected, viewing
from simulator.domain.viewing import (
    FinishPlayback,
    PausePlayback,
    PlaybackStarted,
    StartPlayback,
    ViewingProfile,
    continue_watching,
)


def accept(state: ViewingProfile, *commands: viewing.ViewingCommand) -> ViewingProfile:
    for command in commands:
        events = viewing.decide(command, state)
        assert isinstance(events, list), events
        state = viewing.DOMAIN.replay(events, state)
    return state


def start(title: str) -> StartPlayback:
    return StartPlayback(profile_id="p", title_id=title)


def pause(title: str, position_ms: int) -> PausePlayback:
    return PausePlayback(profile_id="p", title_id=title, position_ms=position_ms)


def test_starting_again_resumes_where_it_was_paused() -> None:
    state = accept(ViewingProfile(), start("dark"), pause("dark", 120_000))
    assert viewing.decide(start("dark"), state) == [
        PlaybackStarted(profile_id="p", title_id="dark", from_position_ms=120_000)
    ]


def test_continue_watching_lists_unfinished_titles_most_recent_first() -> None:
    state = accept(
        ViewingProfile(),
        start("dark"),
        pause("dark", 10),
        start("crown"),
        pause("crown", 20),
        start("dark"),
        pause("dark", 30),
    )
    assert continue_watching(state) == [("dark", 30), ("crown", 20)]
    finished = accept(state, start("crown"), FinishPlayback(profile_id="p", title_id="crown"))
    assert continue_watching(finished) == [("dark", 30)]
    assert finished.finished == ("crown",)


def test_one_title_plays_at_a_time_per_profile() -> None:
    state = accept(ViewingProfile(), start("dark"))
    assert viewing.decide(start("crown"), state) == Rejected(
        reason="dark is playing on this profile; pause it first"
    )
    assert viewing.decide(start("dark"), state) == Rejected(reason="dark is already playing")


def test_only_the_playing_title_can_be_paused_or_finished() -> None:
    state = accept(ViewingProfile(), start("dark"))
    assert viewing.decide(pause("crown", 5), state) == Rejected(reason="crown is not playing")
    assert viewing.decide(FinishPlayback(profile_id="p", title_id="crown"), state) == Rejected(
        reason="crown is not playing"
    )
    negative = viewing.decide(pause("dark", -1), state)
    assert isinstance(negative, Rejected)


def test_a_finished_title_rewatched_starts_from_the_beginning_and_is_listed_once() -> None:
    done = accept(ViewingProfile(), start("dark"), FinishPlayback(profile_id="p", title_id="dark"))
    assert viewing.decide(start("dark"), done) == [
        PlaybackStarted(profile_id="p", title_id="dark", from_position_ms=0)
    ]
    again = accept(done, start("dark"), FinishPlayback(profile_id="p", title_id="dark"))
    assert again.finished == ("dark",)


def test_commands_address_the_profile_stream() -> None:
    assert viewing.stream_id(start("dark")) == "profile-p"
