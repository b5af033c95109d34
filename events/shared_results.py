"""Results of live events shared by subscribers with the same selection, held only while the
event is being fanned out.

Subscribers with equal selections take one execution per event (schema/execution.py). The
result is needed until the last subscriber the event was queued for has moved past it: the
fan-out forgets the event then (events/fanout.py). A subscriber that stops reading keeps its
events pending; so that it cannot pile results up, at most MAX_RESULTS are held whatever
clients do, the least recently used dropped first (those still behind execute again).

What is sent is shared too: a result's data is a SharedData, whose `next` payload the sockets'
handlers encode once for all of them, each splicing its operation id in (web/graphql_view.py,
`next_message`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

# Results held at once. Subscribers move through events nearly in step (an event's fan-out is
# done before the next one's gets far: a 1,000-subscriber test shares fully with even one), so
# two per distinct shared selection is plenty; a use makes a result the most recent, so shared
# ones outlast one-off ones. The worst a stalled reader can pin is this many results, each
# within the cost budget (a 9,200-field one is about 2 MB).
MAX_RESULTS = 16


class SharedData(dict[str, Any]):
    """The data of a shared result: subscribers with the same selection get this one object, so
    it also holds their `next` payload once encoded (the encoder is the view's, in web/)."""

    __slots__ = ("encoded_payload",)

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.encoded_payload: str | None = None


class SharedResults:
    def __init__(self, max_results: int = MAX_RESULTS) -> None:
        self.max_results = max_results
        self._results: OrderedDict[tuple[int, Hashable], asyncio.Future[Any]] = OrderedDict()
        self._selections: defaultdict[int, set[Hashable]] = defaultdict(set)  # by event

    def __len__(self) -> int:
        return len(self._results)

    def get_or_run(
        self, event: int, selection: Hashable, run: Callable[[], Any]
    ) -> tuple[Awaitable[Any], bool]:
        """The (shielded) result of `selection` for `event`, running `run()` for the first asker
        only; and whether it was shared."""
        key = (event, selection)
        future = self._results.get(key)
        shared = future is not None
        if future is None:
            result = run()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                future = asyncio.ensure_future(result)
            else:
                future = asyncio.get_running_loop().create_future()
                future.set_result(result)
            self._results[key] = future
            self._selections[event].add(selection)
            if len(self._results) > self.max_results:
                self._drop(*next(iter(self._results)))
        else:
            self._results.move_to_end(key)
        # One subscriber going away must not cancel the execution the others wait for.
        return asyncio.shield(future), shared

    def forget(self, event: int) -> None:
        """The event's fan-out is done: nobody will ask for its results again."""
        for selection in self._selections.pop(event, ()):
            del self._results[(event, selection)]

    def _drop(self, event: int, selection: Hashable) -> None:
        del self._results[(event, selection)]
        selections = self._selections[event]
        selections.discard(selection)
        if not selections:
            del self._selections[event]
