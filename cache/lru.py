"""A least-recently-used map bounded by the bytes its entries weigh, not by how many there are.

A count bound is no bound when clients choose the size of what is kept: a thousand 1 MB
documents fit a 1,000-entry cache as well as a thousand small ones. `functools.lru_cache` and
`cachetools` weigh nothing or call a weighing function on every lookup; callers here know an
entry's weight when they store it, so it is passed in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteLRU(Generic[V]):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Hashable]:
        """The keys, least recently used first."""
        return iter(list(self._entries))

    def get(self, key: Hashable) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: V, weight: int) -> None:
        """Keep `value`, evicting the least recently used entries beyond the bound. A value
        heavier than the whole bound is not kept (it would evict everything for nothing)."""
        self.pop(key)
        if weight > self.max_bytes:
            return
        self._entries[key] = (value, weight)
        self.bytes += weight
        while self.bytes > self.max_bytes:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted

    def pop(self, key: Hashable) -> V | None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        self.bytes -= entry[1]
        return entry[0]

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
