"""PromptManager: lookup by semver, rendered-result caching through the Cache port, and
reloading changed files (explicitly, or hot with a clock checked at most once a second)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.prompts import YamlPromptSource
from application.prompts import PromptManager
from domain.errors import ConfigurationError, PromptInvalidVariables, PromptNotFound
from entrypoints.rest.errors import http_status
from tests.fakes.clock import FakeClock
from tests.prompt_fakes import PROMPT_FIXTURES, DictCache

HELLO = "version: 1.0.0\nvariables: {who: {type: string}}\ntemplate: 'Hello {{ who }}'\n"


@pytest.fixture
def cache() -> DictCache:
    return DictCache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def edit(path: Path, text: str) -> None:
    """Rewrite a file and move its mtime on, as an editor saving a second later would."""
    path.write_text(text)
    stamp = path.stat().st_mtime + 2
    os.utime(path, (stamp, stamp))


def dir_with_hello(tmp_path: Path) -> Path:
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "hello.yaml").write_text(HELLO)
    return tmp_path / "g" / "hello.yaml"


def test_latest_by_semver_or_pinned() -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES))
    assert manager.get("greeting").version == "1.10.0"
    assert manager.get("greeting", "1.2.0").template == "Hi {{ user }} (1.2.0)"
    assert manager.get("greeting", "2.0.0-beta.1").version == "2.0.0-beta.1"
    summary = next(s for s in manager.all() if s.name == "greeting")
    assert summary.versions == ["1.0.0", "1.2.0", "1.10.0", "2.0.0-beta.1"]
    assert summary.latest == "1.10.0" and set(summary.variables) == {"user", "times", "excited"}


@pytest.mark.parametrize(
    ("name", "version"), [("nope", None), ("greeting", "9.9.9"), ("greeting", "x")]
)
def test_unknown_prompt_or_version(name: str, version: str | None) -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES))
    with pytest.raises(PromptNotFound) as caught:
        manager.get(name, version)
    assert caught.value.code == "PROMPT_NOT_FOUND" and http_status(caught.value) == 404


async def test_a_render_is_cached_by_name_version_and_variables(cache: DictCache) -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES), cache, cache_ttl=60)
    first = await manager.render("greeting", {"user": "ada"}, "1.0.0")
    [(key, text)] = cache.entries.items()
    assert key.startswith("prompt:greeting@1.0.0:") and text == "Hello ada"
    assert cache.ttls[key] == 60
    cache.entries[key] = "from the cache"  # a hit must not render again
    again = await manager.render("greeting", {"user": "ada"}, "1.0.0")
    assert (first.text, again.text) == ("Hello ada", "from the cache")
    await manager.render("greeting", {"user": "bob"}, "1.0.0")  # other values: other key
    await manager.render("greeting", {"user": "ada"}, "1.2.0")  # other version: other key
    assert len(cache.entries) == 3


async def test_the_key_is_canonical_json_of_the_bound_values(cache: DictCache) -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES), cache)
    await manager.render("greeting", {"user": "ada", "times": 1})
    await manager.render("greeting", {"times": 1, "user": "ada", "excited": False})  # same
    assert len(cache.entries) == 1


async def test_invalid_variables_never_reach_the_cache(cache: DictCache) -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES), cache)
    with pytest.raises(PromptInvalidVariables):
        await manager.render("greeting", {"user": 5})
    assert cache.calls == []


async def test_a_cache_outage_is_a_miss(cache: DictCache) -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES), cache)
    cache.down = True
    assert (await manager.render("greeting", {"user": "ada"}, "1.0.0")).text == "Hello ada"
    assert [op for op, _ in cache.calls] == ["get", "set"]


async def test_no_cache_or_a_zero_ttl_renders_every_time(cache: DictCache) -> None:
    manager = PromptManager(YamlPromptSource(PROMPT_FIXTURES), cache, cache_ttl=0)
    await manager.render("greeting", {"user": "ada"})
    assert cache.calls == []
    bare = PromptManager(YamlPromptSource(PROMPT_FIXTURES))
    assert (await bare.render("greeting", {"user": "ada"}, "1.0.0")).text == "Hello ada"


async def test_reload_rereads_changed_files_and_drops_their_cache(
    tmp_path: Path, cache: DictCache
) -> None:
    path = dir_with_hello(tmp_path)
    (tmp_path / "g" / "other.yaml").write_text("version: 1.0.0\ntemplate: other\n")
    manager = PromptManager(YamlPromptSource(tmp_path), cache)
    await manager.render("hello", {"who": "ada"})
    await manager.render("other")
    assert await manager.reload() == []  # nothing changed
    edit(path, HELLO.replace("Hello", "Hi"))
    assert await manager.reload() == ["hello"]
    assert ("delete_prefix", "prompt:hello@") in cache.calls
    assert all(not k.startswith("prompt:hello@") for k in cache.entries)
    assert any(k.startswith("prompt:other@") for k in cache.entries)  # untouched
    assert (await manager.render("hello", {"who": "ada"})).text == "Hi ada"


async def test_reload_sees_new_and_removed_files(tmp_path: Path) -> None:
    path = dir_with_hello(tmp_path)
    manager = PromptManager(YamlPromptSource(tmp_path))
    (tmp_path / "g" / "new.yaml").write_text("version: 1.0.0\ntemplate: new\n")
    path.unlink()
    assert await manager.reload() == ["hello", "new"]
    assert [s.name for s in manager.all()] == ["new"]


async def test_a_broken_edit_fails_reload_and_keeps_the_loaded_prompts(tmp_path: Path) -> None:
    path = dir_with_hello(tmp_path)
    manager = PromptManager(YamlPromptSource(tmp_path))
    edit(path, "version: 1.0.0\ntemplate: '{{ oops'\n")
    with pytest.raises(ConfigurationError, match=str(path)):
        await manager.reload()
    assert (await manager.render("hello", {"who": "ada"})).text == "Hello ada"


async def test_hot_reload_checks_at_most_once_a_second(
    tmp_path: Path, cache: DictCache, clock: FakeClock
) -> None:
    path = dir_with_hello(tmp_path)
    manager = PromptManager(YamlPromptSource(tmp_path), cache, hot_reload=True, monotonic=clock)
    assert (await manager.render("hello", {"who": "ada"})).text == "Hello ada"
    edit(path, HELLO.replace("Hello", "Hey"))
    clock.advance(0.5)
    assert (await manager.render("hello", {"who": "ada"})).text == "Hello ada"  # not yet
    clock.advance(0.6)
    assert (await manager.render("hello", {"who": "ada"})).text == "Hey ada"
    assert ("delete_prefix", "prompt:hello@") in cache.calls


async def test_hot_reload_keeps_serving_when_an_edit_is_broken(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = dir_with_hello(tmp_path)
    manager = PromptManager(YamlPromptSource(tmp_path), hot_reload=True, monotonic=clock)
    edit(path, "not: [valid\n")
    clock.advance(2)
    assert manager.get("hello").template == "Hello {{ who }}"
    edit(path, HELLO.replace("Hello", "Fixed"))
    clock.advance(2)
    assert (await manager.render("hello", {"who": "ada"})).text == "Fixed ada"


async def test_without_hot_reload_edits_wait_for_reload(tmp_path: Path, clock: FakeClock) -> None:
    path = dir_with_hello(tmp_path)
    manager = PromptManager(YamlPromptSource(tmp_path), monotonic=clock)
    edit(path, HELLO.replace("Hello", "Hey"))
    clock.advance(10)
    assert (await manager.render("hello", {"who": "ada"})).text == "Hello ada"
    await manager.reload()
    assert (await manager.render("hello", {"who": "ada"})).text == "Hey ada"
