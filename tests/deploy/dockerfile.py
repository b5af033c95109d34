"""Just enough of Docker to check and replay the Dockerfile without a Docker engine: its
instructions by stage (read by dockerfile-parse), .dockerignore, and compose's `${VAR}`
interpolation."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser


@dataclass
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str

    def flags(self) -> tuple[dict[str, str], list[str]]:
        """`--from=x --chown=y a b` as ({"from": "x", "chown": "y"}, ["a", "b"])."""
        words = shlex.split(self.arguments)
        flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--") and "=" in w)
        return flags, [w for w in words if not w.startswith("--")]

    def command(self) -> list[str]:
        """An exec-form (JSON) command, as for CMD; a shell-form one is refused."""
        command = json.loads(self.arguments)
        assert isinstance(command, list), f"{self.keyword} must use the exec (JSON) form"
        return [str(word) for word in command]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)
    # The stage's ENV at its end, `$PATH`-style references left as written.
    environment: dict[str, str] = field(default_factory=dict)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        return dict(self.environment)


def parse(path: Path) -> list[Stage]:
    """The stages of a Dockerfile as dockerfile-parse reads it: continuation lines joined,
    comments set apart, ENV in each of its forms; no variable substituted."""
    parser = DockerfileParser(str(path), env_replace=False)
    stages: list[Stage] = []
    for item, context in zip(parser.structure, parser.context_structure, strict=True):
        keyword, value = item["instruction"], item["value"]
        if keyword == "FROM":
            words = value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages and keyword != "COMMENT":
            stages[-1].instructions.append(Instruction(keyword, value))
            stages[-1].environment = dict(context.envs)
    return stages


def ignore_patterns(path: Path) -> list[str]:
    return [
        line.strip().rstrip("/")
        for line in path.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def _pattern(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match, as Docker uses it: `*` and `?` stop at `/`; `**/` is any depth."""
    regex = ""
    for piece in re.split(r"(\*\*/|\*|\?)", pattern):
        regex += {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}.get(piece, re.escape(piece))
    return re.compile(regex + r"\Z")


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule for the patterns used here: a path is left out when it, or a folder above
    it, matches a pattern. Exceptions (`!`) are not used."""
    assert not any(p.startswith("!") for p in patterns), "exceptions are not replayed"
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(_pattern(p).match(prefix) for p in patterns for prefix in prefixes)


def copy_context(context: Path, target: Path, patterns: list[str]) -> list[str]:
    """`COPY . target` as Docker does it with this .dockerignore; returns the files copied."""
    copied: list[str] = []
    for folder, folders, files in os.walk(context):
        base = Path(folder).relative_to(context)
        # Ignored folders are not entered at all (.venv, .git are large).
        folders[:] = [f for f in folders if not ignored((base / f).as_posix(), patterns)]
        for name in files:
            relative = (base / name).as_posix()
            if ignored(relative, patterns):
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(context / relative, destination)
            copied.append(relative)
    return sorted(copied)


_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class MissingVariable(Exception):
    """A `${VAR:?message}` whose variable is unset or empty: compose stops with the message."""


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`."""

    def substitute(match: re.Match[str]) -> str:
        name, op, argument = match["name"], match["op"], match["arg"] or ""
        if variables.get(name):
            return variables[name]
        if op == ":?":
            raise MissingVariable(f"{name}: {argument}")
        return argument if op == ":-" else ""

    return _VARIABLE.sub(substitute, value)
