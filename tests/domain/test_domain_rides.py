"""Ride dispatch: nearest free driver by last known location, per zone."""

from __future__ import annotations

from simulator.domain import Rejected, rides
from simulator.domain.rides import (
    AssignDriver,
    CompleteRide,
    DispatchZone,
    DriverAssigned,
    DriverSeen,
    ReportDriverLocation,
    RequestRide,
    RideCompleted,
)


def accept(state: DispatchZone, *commands: rides.RideCommand) -> DispatchZone:
    for command in commands:
        events = rides.decide(command, state)
        assert isinstance(events, list), events
        state = rides.DOMAIN.replay(events, state)
    return state


def at(driver_id: str, x_m: int, y_m: int) -> ReportDriverLocation:
    return ReportDriverLocation(zone_id="z", driver_id=driver_id, x_m=x_m, y_m=y_m)


def request(ride_id: str = "r1", x_m: int = 0, y_m: int = 0) -> RequestRide:
    return RequestRide(zone_id="z", ride_id=ride_id, rider_id="p", pickup_x_m=x_m, pickup_y_m=y_m)


def test_only_the_last_known_location_of_a_driver_counts() -> None:
    state = accept(DispatchZone(), at("d1", 900, 0), at("d1", 10, 5), at("d1", 20, 5))
    assert state.drivers == {"d1": DriverSeen(x_m=20, y_m=5)}


def test_the_nearest_free_driver_is_assigned_by_manhattan_distance() -> None:
    state = accept(DispatchZone(), at("far", 300, 300), at("near", 100, -50), request())
    assert rides.decide(AssignDriver(zone_id="z", ride_id="r1"), state) == [
        DriverAssigned(zone_id="z", ride_id="r1", driver_id="near", pickup_distance_m=150)
    ]


def test_a_driver_who_moved_closer_since_is_preferred() -> None:
    state = accept(DispatchZone(), at("a", 50, 0), at("b", 80, 0), request(), at("b", 10, 0))
    events = rides.decide(AssignDriver(zone_id="z", ride_id="r1"), state)
    assert isinstance(events, list)
    assert isinstance(events[0], DriverAssigned)
    assert events[0].driver_id == "b"


def test_a_tie_goes_to_the_smaller_driver_id() -> None:
    state = accept(DispatchZone(), at("d9", 5, 0), at("d2", 0, 5), request())
    events = rides.decide(AssignDriver(zone_id="z", ride_id="r1"), state)
    assert isinstance(events, list)
    assert isinstance(events[0], DriverAssigned)
    assert events[0].driver_id == "d2"


def test_busy_drivers_are_skipped_and_no_free_driver_is_a_rejection() -> None:
    state = accept(
        DispatchZone(),
        at("d1", 0, 0),
        request("r1"),
        AssignDriver(zone_id="z", ride_id="r1"),
        request("r2"),
    )
    assert rides.decide(AssignDriver(zone_id="z", ride_id="r2"), state) == Rejected(
        reason="no free driver in zone z"
    )
    assert rides.decide(AssignDriver(zone_id="z", ride_id="r1"), state) == Rejected(
        reason="ride r1 already has driver d1"
    )


def test_completing_a_ride_frees_the_driver_and_closes_the_ride() -> None:
    state = accept(
        DispatchZone(), at("d1", 0, 0), request("r1"), AssignDriver(zone_id="z", ride_id="r1")
    )
    state = accept(state, at("d1", 70, 70))  # moving while on the ride
    assert state.drivers["d1"] == DriverSeen(x_m=70, y_m=70, ride_id="r1")
    events = rides.decide(CompleteRide(zone_id="z", ride_id="r1"), state)
    assert events == [RideCompleted(zone_id="z", ride_id="r1", driver_id="d1")]
    done = rides.DOMAIN.replay(events, state)
    assert done.rides == {}
    assert done.drivers["d1"].ride_id is None


def test_rides_are_requested_once_and_completed_only_with_a_driver() -> None:
    state = accept(DispatchZone(), request("r1"))
    assert rides.decide(request("r1"), state) == Rejected(reason="ride r1 was already requested")
    assert rides.decide(CompleteRide(zone_id="z", ride_id="r1"), state) == Rejected(
        reason="ride r1 has no driver yet"
    )
    assert rides.decide(CompleteRide(zone_id="z", ride_id="r9"), state) == Rejected(
        reason="ride r9 is not open in zone z"
    )


def test_commands_address_the_zone_stream() -> None:
    assert rides.stream_id(at("d1", 0, 0)) == "zone-z"
