"""One bounded map for every piece of in-process memory.

A process keeps small things in memory to spare the cache or the database a
round trip (a story's live state, the last good page, the API's idle answer).
Keyed by what requests name, such a map grows with every distinct slug anyone
sends; this one forgets the least recently used entry past its size cap, so a
flood of distinct addresses costs a fixed amount of memory.
"""

import threading
from collections import OrderedDict


class BoundedDict:
    """A dict-like map of at most ``max_size`` entries, least recently used
    first out. Thread-safe: request threads share it."""

    def __init__(self, max_size: int):
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            try:
                self._entries.move_to_end(key)
            except KeyError:
                return default
            return self._entries[key]

    def __getitem__(self, key):
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_size:
                self._entries.popitem(last=False)

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._entries

    def __eq__(self, other) -> bool:
        if isinstance(other, BoundedDict):
            other = dict(other.items())
        return dict(self.items()) == other

    __hash__ = None  # mutable, like a dict

    def __len__(self) -> int:
        return len(self._entries)

    def pop(self, key, default=None):
        with self._lock:
            return self._entries.pop(key, default)

    def items(self) -> list:
        """A snapshot, least recently used first."""
        with self._lock:
            return list(self._entries.items())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_ABSENT = object()
