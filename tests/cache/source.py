"""A stand-in for the database behind QueryCache: it counts loads and answers from a dict."""

from __future__ import annotations


class Source:
    """Values by key; `loads` lists the keys of each load."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.loads: list[list[str]] = []

    async def load_many(self, keys: list[str]) -> dict[str, str | None]:
        self.loads.append(keys)
        return {key: self.values.get(key) for key in keys}

    def loader(self, key: str):  # type: ignore[no-untyped-def]
        async def load() -> str | None:
            return (await self.load_many([key]))[key]

        return load
