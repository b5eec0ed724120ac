"""Which tool version an agent gets, and whether the model may see it: the domain decides.

An agent's allow-list names tools (`"calculator"`, the latest version) or pins one
(`"calculator@1.0.0"`). A tool is offered when it is allowed, the version exists, and its
switch is on: the persisted switch when someone set one, else the declared default. What is
not offered is invisible to the model and refused if called anyway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.tools.models import ToolMetadata, semver_key


def parse_allowed(entry: str) -> tuple[str, str | None]:
    """`"name@1.2.0"` → `("name", "1.2.0")`; `"name"` → `("name", None)`."""
    name, _, version = entry.partition("@")
    return name, version or None


def pick_version(versions: Sequence[ToolMetadata], version: str | None) -> ToolMetadata | None:
    """The pinned version, or the highest one (by number, not text) when none is pinned."""
    if not versions:
        return None
    if version is not None:
        return next((m for m in versions if m.version == version), None)
    return max(versions, key=lambda m: semver_key(m.version))


def is_enabled(meta: ToolMetadata, switches: Mapping[str, bool]) -> bool:
    """A switch covers every version of a tool (operators turn a capability off, not a build)."""
    return switches.get(meta.name, meta.enabled)


def offered_tools(
    tools: Mapping[str, Sequence[ToolMetadata]],
    allowed: Sequence[str],
    switches: Mapping[str, bool],
) -> dict[str, ToolMetadata]:
    """Name → the version the model sees, for one agent's allow-list."""
    offered: dict[str, ToolMetadata] = {}
    for entry in allowed:
        name, version = parse_allowed(entry)
        meta = pick_version(tools.get(name, ()), version)
        if meta is not None and is_enabled(meta, switches):
            offered[name] = meta
    return offered


def unknown_entries(
    tools: Mapping[str, Sequence[ToolMetadata]], allowed: Sequence[str]
) -> list[str]:
    """Allow-list entries that name no registered tool or version (a configuration error)."""
    return [
        entry
        for entry in allowed
        if pick_version(tools.get(parse_allowed(entry)[0], ()), parse_allowed(entry)[1]) is None
    ]
