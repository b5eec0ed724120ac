"""The shipped agents' instructions come from their prompts, with the caller bound in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from entrypoints.rest.app import create_app
from tests.api.conftest import with_model
from tests.conftest import REPO, Api, make_container, make_settings


@pytest.fixture
def seen() -> list[str]:
    return []


async def test_the_prompt_names_the_user(tmp_path: Path, seen: list[str]) -> None:
    def respond(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        assert isinstance(last, ModelRequest)
        seen.append(last.instructions or "")
        return ModelResponse(parts=[TextPart("ok")])

    settings = make_settings(
        tmp_path,
        agents={"dir": str(REPO / "config" / "agents")},
        prompts={"dir": str(REPO / "config" / "prompts")},
    )
    app = create_app(
        with_model(make_container(settings), FunctionModel(respond)), configure_logs=False
    )
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            headers = await Api(http).signup("ada")
            r = await http.post(
                "/api/v1/agents/assistant/run", json={"message": "hi"}, headers=headers
            )
            assert r.status_code == 200, r.text
    assert "You are MAI" in seen[-1]
    assert "You are talking to ada." in seen[-1]
