"""`mai serve`'s banner: the addresses a person can open, whatever the bind address."""

from __future__ import annotations

from entrypoints.cli.serve import banner, base_url


def test_a_wildcard_bind_is_shown_as_localhost() -> None:
    assert base_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert base_url("::", 9000) == "http://127.0.0.1:9000"
    assert base_url("::1", 9000) == "http://[::1]:9000"
    assert base_url("example.org", 80) == "http://example.org:80"


def test_the_banner_names_every_door_and_the_first_steps() -> None:
    text = banner("http://127.0.0.1:8000", ".venv/bin/mai")
    for expected in (
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000/docs",
        "http://127.0.0.1:8000/graphql",
        "http://127.0.0.1:8000/v1",
        ".venv/bin/mai users create",
        ".venv/bin/mai chat",
        "/api/v1/auth/register",
    ):
        assert expected in text
