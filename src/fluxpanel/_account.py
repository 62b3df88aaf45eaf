"""An account's active tasks across the processes of this machine: the
ledger's rows, as the gate of :mod:`fluxpanel._limits` asks for them (a
:class:`~fluxpanel._limits.Shared`)."""

from __future__ import annotations

from concurrent.futures import Future

from ._ledger import Id, Ledger


class AccountSlots:
    """One host account's active tasks in a ledger (a :class:`~fluxpanel._limits.Shared`)."""

    def __init__(self, ledger: Ledger, provider: str, endpoint: str) -> None:
        self._ledger, self._provider, self._endpoint = ledger, provider, endpoint

    def take(self, limit: int) -> Future[int | None]:
        return self._ledger.take(self._provider, self._endpoint, limit)

    def give_back(self, slot: Id) -> None:
        self._ledger.give_back(slot)

    def reserve(self) -> Future[int | None]:
        return self._ledger.reserve(self._provider, self._endpoint)

    def settle(self, slot: Id) -> None:
        self._ledger.settled([slot])
