"""Reference solution: expected version, and on a conflict load, decide and append again."""

from typing import Any

from evsim import (
    Command,
    Context,
    Event,
    Rejected,
    VersionConflict,
    command_handler,
    decider,
)

Account = dict[str, Any]


def evolve(state: Account, event: Event) -> Account:
    """The account after one stored event."""
    if event.type == "account.opened":
        return {**state, "open": True}
    if event.type == "account.deposited":
        return {**state, "balance": state["balance"] + event["amount_cents"]}
    if event.type == "account.withdrawn":
        return {**state, "balance": state["balance"] - event["amount_cents"]}
    return state


@decider(evolve=evolve, initial_state={"open": False, "balance": 0})
def decide(command: Command, state: Account) -> list[dict[str, Any]] | Rejected:
    """The bank's rules: open once, positive amounts, no overdraft."""
    account, amount = command["account_id"], command.data.get("amount_cents", 0)
    if command.type == "account.open":
        if state["open"]:
            return Rejected(f"{account} is open already")
        return [{"type": "account.opened", "account_id": account, "owner": command["owner"]}]
    if not state["open"]:
        return Rejected(f"{account} is not open")
    if amount <= 0:
        return Rejected(f"the amount must be positive, not {amount}")
    if command.type == "account.deposit":
        event = {"type": "account.deposited", "account_id": account}
        return [{**event, "amount_cents": amount, "currency": "EUR"}]
    if amount > state["balance"]:
        return Rejected(f"insufficient funds: {state['balance']} cents, withdrawing {amount}")
    event = {"type": "account.withdrawn", "account_id": account}
    return [{**event, "amount_cents": amount, "currency": "EUR"}]


ATTEMPTS = 50


@command_handler(decider=decide)
async def handle(command: Command, ctx: Context) -> None:
    for attempt in range(1, ATTEMPTS + 1):
        loaded = await ctx.load(command.stream)
        decided = decide(command, loaded.state)
        if isinstance(decided, Rejected):
            ctx.reject(decided.reason)
            return
        try:
            await ctx.append(command.stream, decided, expected_version=loaded.version)
            return
        except VersionConflict:
            await ctx.sleep(ctx.rng.randint(1, 5 * attempt))
    ctx.reject(f"gave up after {ATTEMPTS} version conflicts")
