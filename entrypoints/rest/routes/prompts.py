"""/prompts: the prompt templates on offer, and rendering one with variables.

A user-supplied value is only ever a variable value: it is rendered as text, never as
template code. Bad variables answer 422 PROMPT_INVALID_VARIABLES (each problem in
`details.problems`), an unknown prompt or version 404 PROMPT_NOT_FOUND.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from domain.prompts.models import PromptVariable
from entrypoints.rest.deps import ContainerDep, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import JSONObject, Text

if TYPE_CHECKING:  # its package loads Jinja's sandbox: imported when the prompts load
    from application.prompts.manager import PromptSummary

router = APIRouter(prefix="/prompts", tags=["prompts"], responses=ERROR_RESPONSES)


class PromptVariableOut(BaseModel):
    type: str
    description: str
    required: bool
    default: Any = None

    @classmethod
    def of(cls, v: PromptVariable) -> PromptVariableOut:
        return cls(type=v.type, description=v.description, required=v.required, default=v.default)


class PromptOut(BaseModel):
    name: str
    versions: list[str] = Field(description="Every version, oldest first (semver order).")
    latest: str = Field(description="What rendering without a version uses.")
    description: str
    variables: dict[str, PromptVariableOut] = Field(description="Of the latest version.")
    tags: list[str]
    group: str

    @classmethod
    def of(cls, s: PromptSummary) -> PromptOut:
        return cls(
            name=s.name,
            versions=s.versions,
            latest=s.latest,
            description=s.description,
            variables={k: PromptVariableOut.of(v) for k, v in s.variables.items()},
            tags=list(s.tags),
            group=s.group,
        )


class PromptList(BaseModel):
    items: list[PromptOut]


class RenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variables: JSONObject = Field(default_factory=dict)
    version: Text | None = Field(default=None, description="A pinned version; default: latest.")


class RenderOut(BaseModel):
    name: str
    version: str
    text: str


@router.get("", response_model=PromptList)
async def list_prompts(_user: CurrentUser, container: ContainerDep) -> PromptList:
    return PromptList(items=[PromptOut.of(s) for s in container.prompt_manager().all()])


@router.post("/{name}/render", response_model=RenderOut)
async def render_prompt(
    name: str, body: RenderIn, _user: CurrentUser, container: ContainerDep
) -> RenderOut:
    """Render `name` (latest release, or `version`) with `variables`."""
    rendered = await container.prompt_manager().render(name, body.variables, body.version)
    return RenderOut(name=rendered.name, version=rendered.version, text=rendered.text)
