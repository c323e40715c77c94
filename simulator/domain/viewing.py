"""Viewing activity: the Netflix case, one stream per profile.

Netflix records what each profile watches — play started, paused at a position,
finished — and builds the "Continue Watching" row from it: titles started and
not finished, most recent first, each resumed where it was paused. Here a
profile is one aggregate. Starting a title resumes from its saved position (the
decision reads the state, the event records the answer), and this model allows
one title playing per profile at a time.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from simulator.domain.decider import Decider, Domain, Rejected

__all__ = [
    "DOMAIN",
    "FinishPlayback",
    "PausePlayback",
    "PlaybackFinished",
    "PlaybackPaused",
    "PlaybackStarted",
    "StartPlayback",
    "ViewingCommand",
    "ViewingEvent",
    "ViewingProfile",
    "continue_watching",
    "decide",
    "evolve",
]


# -- commands -------------------------------------------------------------------


class StartPlayback(msgspec.Struct, frozen=True, kw_only=True, tag="viewing.start"):
    profile_id: str
    title_id: str


class PausePlayback(msgspec.Struct, frozen=True, kw_only=True, tag="viewing.pause"):
    profile_id: str
    title_id: str
    position_ms: int


class FinishPlayback(msgspec.Struct, frozen=True, kw_only=True, tag="viewing.finish"):
    profile_id: str
    title_id: str


ViewingCommand = StartPlayback | PausePlayback | FinishPlayback


# -- events ---------------------------------------------------------------------


class PlaybackStarted(msgspec.Struct, frozen=True, kw_only=True, tag="playback.started", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 1
    profile_id: str
    title_id: str
    from_position_ms: int


class PlaybackPaused(msgspec.Struct, frozen=True, kw_only=True, tag="playback.paused", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 1
    profile_id: str
    title_id: str
    position_ms: int


class PlaybackFinished(
    msgspec.Struct, frozen=True, kw_only=True, tag="playback.finished", gc=False
):
    SCHEMA_VERSION: ClassVar[int] = 1
    profile_id: str
    title_id: str


ViewingEvent = PlaybackStarted | PlaybackPaused | PlaybackFinished


# -- state ----------------------------------------------------------------------


class ViewingProfile(msgspec.Struct, frozen=True, kw_only=True):
    playing: str | None = None
    """The title playing now, if any."""
    positions_ms: dict[str, int] = msgspec.field(default_factory=dict)
    """Started, unfinished titles and where they stopped; least recently touched first."""
    finished: tuple[str, ...] = ()
    """Titles watched to the end, each once, the most recently finished last."""


STATE_SCHEMA_VERSION = 1


def continue_watching(state: ViewingProfile) -> list[tuple[str, int]]:
    """The "Continue Watching" row: unfinished titles, most recent first, with positions."""
    return list(reversed(state.positions_ms.items()))


def _touched(positions_ms: dict[str, int], title_id: str, position_ms: int) -> dict[str, int]:
    """Move a title to the most-recent end with its new position."""
    moved = {title: at for title, at in positions_ms.items() if title != title_id}
    moved[title_id] = position_ms
    return moved


# -- decide and evolve ----------------------------------------------------------


def decide(command: ViewingCommand, state: ViewingProfile) -> list[ViewingEvent] | Rejected:
    match command:
        case StartPlayback(profile_id=profile_id, title_id=title_id):
            if state.playing == title_id:
                return Rejected(reason=f"{title_id} is already playing")
            if state.playing is not None:
                return Rejected(
                    reason=f"{state.playing} is playing on this profile; pause it first"
                )
            resume_ms = state.positions_ms.get(title_id, 0)
            return [
                PlaybackStarted(
                    profile_id=profile_id, title_id=title_id, from_position_ms=resume_ms
                )
            ]
        case PausePlayback(profile_id=profile_id, title_id=title_id, position_ms=position_ms):
            if state.playing != title_id:
                return Rejected(reason=f"{title_id} is not playing")
            if position_ms < 0:
                return Rejected(reason=f"position must not be negative, got {position_ms} ms")
            return [
                PlaybackPaused(profile_id=profile_id, title_id=title_id, position_ms=position_ms)
            ]
        case FinishPlayback(profile_id=profile_id, title_id=title_id):
            if state.playing != title_id:
                return Rejected(reason=f"{title_id} is not playing")
            return [PlaybackFinished(profile_id=profile_id, title_id=title_id)]


def evolve(state: ViewingProfile, event: ViewingEvent) -> ViewingProfile:
    match event:
        case PlaybackStarted(title_id=title_id, from_position_ms=from_ms):
            return ViewingProfile(
                playing=title_id,
                positions_ms=_touched(state.positions_ms, title_id, from_ms),
                finished=state.finished,
            )
        case PlaybackPaused(title_id=title_id, position_ms=position_ms):
            return ViewingProfile(
                playing=None,
                positions_ms=_touched(state.positions_ms, title_id, position_ms),
                finished=state.finished,
            )
        case PlaybackFinished(title_id=title_id):
            return ViewingProfile(
                playing=None,
                positions_ms={t: at for t, at in state.positions_ms.items() if t != title_id},
                finished=(*(t for t in state.finished if t != title_id), title_id),
            )


def stream_id(command: ViewingCommand) -> str:
    return f"profile-{command.profile_id}"


DOMAIN: Domain[ViewingCommand, ViewingEvent, ViewingProfile] = Domain(
    name="viewing",
    summary="viewing activity (Netflix): play, pause, finish; continue-watching row",
    decider=Decider(initial_state=ViewingProfile(), decide=decide, evolve=evolve),
    command_types=(StartPlayback, PausePlayback, FinishPlayback),
    event_types=(PlaybackStarted, PlaybackPaused, PlaybackFinished),
    state_type=ViewingProfile,
    state_schema_version=STATE_SCHEMA_VERSION,
    stream_id=stream_id,
)
