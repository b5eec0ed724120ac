"""Sign-up, login, refresh rotation and reuse detection, logout, and token attacks over REST."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest

from tests.conftest import TEST_SECRET, Api


async def test_register_login_me(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.register("ada")
    assert set(user) == {"id", "username", "email", "is_active", "is_superuser", "created_at"}
    assert "password" not in json.dumps(user)
    tokens = await api.login("ada")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    r = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 200 and r.json()["username"] == "ada"


async def test_conflicts_and_password_policy(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("ada")
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "ada", "email": "x@example.com", "password": "password123"},
    )
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "username"
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "bob", "email": "ADA@example.com", "password": "password123"},
    )
    assert r.status_code == 409 and r.json()["error"]["details"]["field"] == "email"
    r = await client.post(
        "/api/v1/auth/register",
        json={"username": "bob", "email": "bob@example.com", "password": "short"},
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_FAILED" and err["details"]["field"] == "password"


async def test_wrong_password_and_unknown_user_look_the_same(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("ada")
    a = await client.post("/api/v1/auth/login", json={"username": "ada", "password": "wrong-pass1"})
    b = await client.post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "wrong-pass1"}
    )
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()
    assert a.headers["www-authenticate"] == "Bearer"


async def test_refresh_rotates_and_reuse_revokes_the_session(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("ada")
    first = await api.login("ada")
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]

    # The old refresh token is now a replay: refused, and the whole session ends.
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["details"]["reason"] == "refresh_token_reuse"
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 401
    r = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert r.status_code == 401


async def test_logout_ends_the_session_only(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("ada")
    one, two = await api.login("ada"), await api.login("ada")
    h1 = {"Authorization": f"Bearer {one['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=h1)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=h1)).status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": one["refresh_token"]})
    assert r.status_code == 401
    h2 = {"Authorization": f"Bearer {two['access_token']}"}
    assert (await client.get("/api/v1/users/me", headers=h2)).status_code == 200


def _forge(token: str, **changes: object) -> str:
    payload = jwt.decode(token, options={"verify_signature": False})
    payload.update(changes)
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, TEST_SECRET, algorithm="HS256"
    )


ATTACKS = {
    "none": lambda t: (
        base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
        + "."
        + t.split(".")[1]
        + "."
    ),
    "wrong alg": lambda t: jwt.encode(
        jwt.decode(t, options={"verify_signature": False}),
        TEST_SECRET + "x" * 30,
        algorithm="HS512",
    ),
    "wrong aud": lambda t: _forge(t, aud="someone-else"),
    "no aud": lambda t: _forge(t, aud=None),
    "wrong iss": lambda t: _forge(t, iss="evil"),
    "expired": lambda t: _forge(t, exp=1_000_000_000, iat=999_999_000),
    "tampered": lambda t: t[:-4] + ("AAAA" if not t.endswith("AAAA") else "BBBB"),
    "refresh as access": None,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_attack_tokens_get_401_with_the_error_shape(
    api: Api, client: httpx.AsyncClient, attack: str
) -> None:
    await api.register("ada")
    tokens = await api.login("ada")
    make = ATTACKS[attack]
    bad = tokens["refresh_token"] if make is None else make(tokens["access_token"])
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {bad}"})
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"code", "message", "details", "retryable"}
    assert r.json()["error"]["code"] == "AUTHENTICATION_FAILED"


async def test_missing_or_malformed_authorization(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/users/me")).status_code == 401
    r = await client.get("/api/v1/users/me", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTHENTICATION_FAILED"


async def test_deactivated_user_is_rejected(
    api: Api, client: httpx.AsyncClient, container: object
) -> None:
    user = await api.register("ada")
    headers = await api.signup("bob")
    from uuid import UUID

    tokens = await api.login("ada")
    await container.set_user_active().execute(UUID(user["id"]), False)  # type: ignore[attr-defined]
    r = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"username": "ada", "password": "password123"})
    assert r.status_code == 401
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
