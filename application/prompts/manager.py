"""`PromptManager`: the prompts on offer, looked up by name (latest release or pinned),
rendered safely, with rendered results cached and prompt files reloaded when they change.

Every file is loaded and compiled at construction, so a broken prompt file stops start-up
with its path. `reload()` re-reads only the files whose stamp changed and drops their
cached renders; with `hot_reload` that check runs on `get`/`render`/`all`, at most once a
`check_interval`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from application.prompts.catalog import Entry, Index, LoadedFile, build_index, names_in, read_file
from application.prompts.sandbox import PromptSandbox
from domain.errors import CacheUnavailable, ConfigurationError, PromptNotFound, PromptRenderFailed
from domain.ports import Cache
from domain.prompts.models import PromptTemplate, PromptVariable, RenderedPrompt
from domain.prompts.ports import PromptSource
from domain.prompts.semver import SemVer, latest

log = structlog.get_logger("mai.prompts")
CACHE_PREFIX = "prompt:"


@dataclass(frozen=True, slots=True)
class PromptSummary:
    """A prompt as `all()` shows it: its versions, and the latest one's declaration."""

    name: str
    versions: list[str]
    latest: str
    description: str
    variables: dict[str, PromptVariable]
    tags: tuple[str, ...]
    group: str


class PromptManager:
    def __init__(
        self,
        source: PromptSource,
        cache: Cache | None = None,
        *,
        max_output_chars: int = 100_000,
        cache_ttl: float = 3600.0,
        hot_reload: bool = False,
        check_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._cache = cache
        self._ttl = cache_ttl
        self._hot = hot_reload
        self._interval = check_interval
        self._monotonic = monotonic
        self._sandbox = PromptSandbox(max_output_chars)
        self._files: dict[str, LoadedFile] = {}
        self._index: Index = {}
        self._stale: set[str] = set()  # names whose cached renders still need dropping
        self._failed_scan: dict[str, float] | None = None
        self._files, self._index, _ = self._rescan()  # a broken file stops start-up here
        self._checked = monotonic()

    # --- lookup ---------------------------------------------------------------------------
    def get(self, name: str, version: str | None = None) -> PromptTemplate:
        """The latest release of `name` (or `version`, pinned); PROMPT_NOT_FOUND if none."""
        return self._entry(name, version).prompt

    def all(self) -> list[PromptSummary]:
        self._maybe_reload()
        out = []
        for name in sorted(self._index):
            versions = sorted(self._index[name], key=SemVer.parse)
            top = self._index[name][latest(versions)].prompt
            out.append(
                PromptSummary(
                    name, versions, top.version, top.description, top.variables, top.tags, top.group
                )
            )
        return out

    def _entry(self, name: str, version: str | None) -> Entry:
        self._maybe_reload()
        versions = self._index.get(name)
        if not versions:
            raise PromptNotFound(f"Prompt {name!r} not found.", details={"prompt": name})
        if version is None:
            return versions[latest(list(versions))]
        try:
            wanted = str(SemVer.parse(version))
        except ValueError:
            wanted = version
        found = versions.get(wanted)
        if found is None:
            raise PromptNotFound(
                f"Prompt {name!r} has no version {version!r} "
                f"(versions: {', '.join(sorted(versions, key=SemVer.parse))}).",
                details={"prompt": name, "version": version, "versions": sorted(versions)},
            )
        return found

    # --- rendering ------------------------------------------------------------------------
    async def render(
        self, name: str, variables: dict[str, Any] | None = None, version: str | None = None
    ) -> RenderedPrompt:
        """Check `variables` against the declaration (PROMPT_INVALID_VARIABLES), then render
        in the sandbox (PROMPT_RENDER_FAILED), answering from the cache when it can."""
        entry = self._entry(name, version)
        prompt = entry.prompt
        values = prompt.bind(dict(variables or {}))
        await self._drop_stale()
        key = self._key(entry, values) if self._cache is not None and self._ttl > 0 else None
        if key is not None:
            cached = await self._cache_call("get", key)
            if isinstance(cached, str):
                return RenderedPrompt(prompt.name, prompt.version, cached)
        text = self.render_now(entry, values)
        if key is not None:
            await self._cache_call("set", key, text)
        return RenderedPrompt(prompt.name, prompt.version, text)

    def render_now(self, entry: Entry, values: dict[str, Any]) -> str:
        """Render bound values, uncached; any failure in the template is PROMPT_RENDER_FAILED."""
        try:
            return self._sandbox.render_capped(entry.compiled, values)
        except Exception as exc:  # a template can raise anything; none of it may escape raw
            reason = type(exc).__name__
            raise PromptRenderFailed(
                f"Prompt {entry.prompt.ref} could not be rendered: {reason}: {exc}"[:1000],
                details={
                    "prompt": entry.prompt.name,
                    "version": entry.prompt.version,
                    "reason": reason,
                },
            ) from None

    def _key(self, entry: Entry, values: dict[str, Any]) -> str:
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        return f"{CACHE_PREFIX}{entry.prompt.ref}:{entry.digest}:{digest}"

    async def _cache_call(self, op: str, *args: Any) -> Any:
        assert self._cache is not None
        try:
            if op == "get":
                return await self._cache.get(args[0])
            if op == "set":
                return await self._cache.set(args[0], args[1], ttl=self._ttl)
            return await self._cache.delete_prefix(args[0])
        except CacheUnavailable as exc:  # never fatal: a miss, or an entry left to expire
            log.warning("prompt_cache_unavailable", op=op, error=exc.message)
            return None

    # --- reloading ------------------------------------------------------------------------
    async def reload(self) -> list[str]:
        """Re-read the files that changed (or appeared, or went away) and drop the cached
        renders of every prompt they hold. A broken file raises ConfigurationError and
        leaves the loaded prompts as they were. Returns the affected prompt names."""
        self._files, self._index, changed = self._rescan()
        self._stale |= changed
        self._failed_scan = None
        await self._drop_stale()
        return sorted(changed)

    def _maybe_reload(self) -> None:
        if not self._hot:
            return
        now = self._monotonic()
        if now - self._checked < self._interval:
            return
        self._checked = now
        stamps = self._source.scan()
        if stamps == self._failed_scan:  # still the broken state we already reported
            return
        try:
            self._files, self._index, changed = self._rescan(stamps)
        except ConfigurationError as exc:  # keep serving what loaded; say what is wrong
            self._failed_scan = stamps
            log.warning("prompt_reload_failed", error=exc.message, **exc.details)
            return
        if changed:
            log.info("prompts_reloaded", prompts=sorted(changed))
        self._stale |= changed

    def _rescan(
        self, stamps: dict[str, float] | None = None
    ) -> tuple[dict[str, LoadedFile], Index, set[str]]:
        stamps = self._source.scan() if stamps is None else stamps
        files = {f: self._files[f] for f in stamps if f in self._files}
        changed: set[str] = names_in(*(self._files[f] for f in self._files if f not in stamps))
        for file, stamp in stamps.items():
            old = self._files.get(file)
            if old is None or old.stamp != stamp:
                files[file] = read_file(self._source, self._sandbox, file, stamp)
                changed |= names_in(old, files[file])
        return files, build_index(files), changed

    async def _drop_stale(self) -> None:
        if not self._stale:
            return
        stale, self._stale = self._stale, set()
        if self._cache is None:
            return
        for name in sorted(stale):
            await self._cache_call("delete_prefix", f"{CACHE_PREFIX}{name}@")
