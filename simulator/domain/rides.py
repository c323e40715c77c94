"""Ride dispatch: the Uber case, one stream per dispatch zone.

Uber's dispatch system shards the city into geographic cells and keeps, per
cell, the *last known location* of every driver — drivers' phones report their
position every few seconds, so most events are location updates and only the
newest one per driver matters for the next decision. A rider's request is
matched to the nearest free driver by that last known location. Here a zone is
one aggregate: a long stream dominated by ``DriverLocationUpdated``, which is
exactly the stream where snapshots pay off. Distances are Manhattan metres on a
city grid; ties go to the smaller driver id, so a decision never depends on
dictionary order.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from simulator.domain.decider import Decider, Domain, Rejected

__all__ = [
    "DOMAIN",
    "AssignDriver",
    "CompleteRide",
    "DispatchZone",
    "DriverAssigned",
    "DriverLocationUpdated",
    "DriverSeen",
    "OpenRide",
    "ReportDriverLocation",
    "RequestRide",
    "RideCommand",
    "RideCompleted",
    "RideEvent",
    "RideRequested",
    "decide",
    "evolve",
]


# -- commands -------------------------------------------------------------------


class ReportDriverLocation(msgspec.Struct, frozen=True, kw_only=True, tag="ride.report_location"):
    zone_id: str
    driver_id: str
    x_m: int
    y_m: int


class RequestRide(msgspec.Struct, frozen=True, kw_only=True, tag="ride.request"):
    zone_id: str
    ride_id: str
    rider_id: str
    pickup_x_m: int
    pickup_y_m: int


class AssignDriver(msgspec.Struct, frozen=True, kw_only=True, tag="ride.assign_driver"):
    zone_id: str
    ride_id: str


class CompleteRide(msgspec.Struct, frozen=True, kw_only=True, tag="ride.complete"):
    zone_id: str
    ride_id: str


RideCommand = ReportDriverLocation | RequestRide | AssignDriver | CompleteRide


# -- events ---------------------------------------------------------------------


class DriverLocationUpdated(
    msgspec.Struct, frozen=True, kw_only=True, tag="driver.location_updated", gc=False
):
    SCHEMA_VERSION: ClassVar[int] = 1
    zone_id: str
    driver_id: str
    x_m: int
    y_m: int


class RideRequested(msgspec.Struct, frozen=True, kw_only=True, tag="ride.requested", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 1
    zone_id: str
    ride_id: str
    rider_id: str
    pickup_x_m: int
    pickup_y_m: int


class DriverAssigned(
    msgspec.Struct, frozen=True, kw_only=True, tag="ride.driver_assigned", gc=False
):
    SCHEMA_VERSION: ClassVar[int] = 1
    zone_id: str
    ride_id: str
    driver_id: str
    pickup_distance_m: int


class RideCompleted(msgspec.Struct, frozen=True, kw_only=True, tag="ride.completed", gc=False):
    SCHEMA_VERSION: ClassVar[int] = 1
    zone_id: str
    ride_id: str
    driver_id: str


RideEvent = DriverLocationUpdated | RideRequested | DriverAssigned | RideCompleted


# -- state ----------------------------------------------------------------------


class DriverSeen(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A driver's last known location, and the ride they are on, if any."""

    x_m: int
    y_m: int
    ride_id: str | None = None


class OpenRide(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A ride that has been requested and not yet completed."""

    rider_id: str
    pickup_x_m: int
    pickup_y_m: int
    driver_id: str | None = None


class DispatchZone(msgspec.Struct, frozen=True, kw_only=True):
    """Only what the next decision needs: completed rides leave the state."""

    drivers: dict[str, DriverSeen] = msgspec.field(default_factory=dict)
    rides: dict[str, OpenRide] = msgspec.field(default_factory=dict)

    def free_drivers(self) -> list[tuple[str, DriverSeen]]:
        return [(d, seen) for d, seen in self.drivers.items() if seen.ride_id is None]


STATE_SCHEMA_VERSION = 1


# -- decide and evolve ----------------------------------------------------------


def pickup_distance_m(driver: DriverSeen, ride: OpenRide) -> int:
    """Manhattan distance: city blocks, not a straight line."""
    return abs(driver.x_m - ride.pickup_x_m) + abs(driver.y_m - ride.pickup_y_m)


def decide(command: RideCommand, state: DispatchZone) -> list[RideEvent] | Rejected:
    match command:
        case ReportDriverLocation(zone_id=zone_id, driver_id=driver_id, x_m=x_m, y_m=y_m):
            # A reported position is a fact from the phone; the zone cannot refuse it.
            return [DriverLocationUpdated(zone_id=zone_id, driver_id=driver_id, x_m=x_m, y_m=y_m)]
        case RequestRide(zone_id=zone_id, ride_id=ride_id, rider_id=rider_id):
            if ride_id in state.rides:
                return Rejected(reason=f"ride {ride_id} was already requested")
            return [
                RideRequested(
                    zone_id=zone_id,
                    ride_id=ride_id,
                    rider_id=rider_id,
                    pickup_x_m=command.pickup_x_m,
                    pickup_y_m=command.pickup_y_m,
                )
            ]
        case AssignDriver(zone_id=zone_id, ride_id=ride_id):
            ride = state.rides.get(ride_id)
            if ride is None:
                return Rejected(reason=f"ride {ride_id} is not open in zone {zone_id}")
            if ride.driver_id is not None:
                return Rejected(reason=f"ride {ride_id} already has driver {ride.driver_id}")
            free = state.free_drivers()
            if not free:
                return Rejected(reason=f"no free driver in zone {zone_id}")
            distance, driver_id = min((pickup_distance_m(seen, ride), d) for d, seen in free)
            return [
                DriverAssigned(
                    zone_id=zone_id,
                    ride_id=ride_id,
                    driver_id=driver_id,
                    pickup_distance_m=distance,
                )
            ]
        case CompleteRide(zone_id=zone_id, ride_id=ride_id):
            ride = state.rides.get(ride_id)
            if ride is None:
                return Rejected(reason=f"ride {ride_id} is not open in zone {zone_id}")
            if ride.driver_id is None:
                return Rejected(reason=f"ride {ride_id} has no driver yet")
            return [RideCompleted(zone_id=zone_id, ride_id=ride_id, driver_id=ride.driver_id)]


def evolve(state: DispatchZone, event: RideEvent) -> DispatchZone:
    match event:
        case DriverLocationUpdated(driver_id=driver_id, x_m=x_m, y_m=y_m):
            known = state.drivers.get(driver_id)
            on_ride = known.ride_id if known is not None else None
            drivers = {**state.drivers, driver_id: DriverSeen(x_m=x_m, y_m=y_m, ride_id=on_ride)}
            return DispatchZone(drivers=drivers, rides=state.rides)
        case RideRequested(ride_id=ride_id, rider_id=rider_id):
            ride = OpenRide(
                rider_id=rider_id, pickup_x_m=event.pickup_x_m, pickup_y_m=event.pickup_y_m
            )
            return DispatchZone(drivers=state.drivers, rides={**state.rides, ride_id: ride})
        case DriverAssigned(ride_id=ride_id, driver_id=driver_id):
            seen = state.drivers[driver_id]
            return DispatchZone(
                drivers={
                    **state.drivers,
                    driver_id: msgspec.structs.replace(seen, ride_id=ride_id),
                },
                rides={
                    **state.rides,
                    ride_id: msgspec.structs.replace(state.rides[ride_id], driver_id=driver_id),
                },
            )
        case RideCompleted(ride_id=ride_id, driver_id=driver_id):
            seen = state.drivers[driver_id]
            rides = {r: open_ride for r, open_ride in state.rides.items() if r != ride_id}
            return DispatchZone(
                drivers={**state.drivers, driver_id: msgspec.structs.replace(seen, ride_id=None)},
                rides=rides,
            )


def stream_id(command: RideCommand) -> str:
    return f"zone-{command.zone_id}"


DOMAIN: Domain[RideCommand, RideEvent, DispatchZone] = Domain(
    name="rides",
    summary="ride dispatch (Uber): last known driver location, nearest free driver",
    decider=Decider(initial_state=DispatchZone(), decide=decide, evolve=evolve),
    command_types=(ReportDriverLocation, RequestRide, AssignDriver, CompleteRide),
    event_types=(DriverLocationUpdated, RideRequested, DriverAssigned, RideCompleted),
    state_type=DispatchZone,
    state_schema_version=STATE_SCHEMA_VERSION,
    stream_id=stream_id,
)
