"""Fold the bank's events into balances: row = account id, value = balance in cents.

The projector hands this function each event it reads from the log, in
position order, and saves its checkpoint (the next position to read) after
each batch. When it crashes after applying a batch but before saving the
checkpoint, it reads the same batch again after its restart — and this naive
apply adds the same deposits a second time.

Grade it: ``evsim exercise grade`` (from this folder). Then fix it — see README.md.
"""

from evsim import Context, Event, projector


@projector
def apply(read_model: dict[str, int | str], event: Event, ctx: Context) -> None:
    account = event["account_id"]
    balance = read_model.get(account, 0)
    assert isinstance(balance, int)
    if event.type == "account.opened":
        read_model[account] = balance
    elif event.type == "account.deposited":
        read_model[account] = balance + event["amount_cents"]
    elif event.type == "account.withdrawn":
        read_model[account] = balance - event["amount_cents"]
