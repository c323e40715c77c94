"""A command handler for bank accounts: load, decide, append.

``decide`` and ``evolve`` are the bank's rules, and they are right: a
withdrawal larger than the balance is rejected. The command handler around
them is the naive one: it appends without saying which version it decided on.
Two withdrawals that load the account at the same version both pass the check,
and both are appended: the second overwrites a decision it never saw, and the
balance goes below zero (a lost update).

Grade it: ``evsim exercise grade`` (from this folder). Then fix ``handle`` —
see README.md.
"""

from typing import Any

from evsim import Command, Context, Event, Rejected, command_handler, decider

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


@command_handler(decider=decide)
async def handle(command: Command, ctx: Context) -> None:
    loaded = await ctx.load(command.stream)
    decided = decide(command, loaded.state)
    if isinstance(decided, Rejected):
        ctx.reject(decided.reason)
        return
    await ctx.append(command.stream, decided)
