"""Reference solution: what was done per saga, in the service's store; both sides idempotent."""

from evsim import Context, saga_step


def release(saga: str, ctx: Context) -> None:
    if ctx.store.get(f"stock:{saga}") == "reserved":
        ctx.effect("stock", amount=-1)
    ctx.store.put(f"stock:{saga}", "released")  # also for a saga never reserved: a late do refuses


@saga_step(compensation=release)
def reserve(saga: str, ctx: Context) -> bool:
    state = ctx.store.get(f"stock:{saga}")
    if state == "released":
        return False  # compensated already: this do came too late
    if state != "reserved":
        ctx.effect("stock", amount=+1)
        ctx.store.put(f"stock:{saga}", "reserved")
    return True
