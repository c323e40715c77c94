"""Reference solution: the last applied position, kept beside the rows in the same database."""

from evsim import Context, Event, projector


@projector
def apply(read_model: dict[str, int | str], event: Event, ctx: Context) -> None:
    if event.position <= ctx.store.get("applied_up_to", 0):
        ctx.log(f"@{event.position} again: applied already")
        return
    account = event["account_id"]
    balance = read_model.get(account, 0)
    assert isinstance(balance, int)
    if event.type == "account.deposited":
        balance += event["amount_cents"]
    elif event.type == "account.withdrawn":
        balance -= event["amount_cents"]
    read_model[account] = balance
    ctx.store.put("applied_up_to", event.position)
