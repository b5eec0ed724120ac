"""Prompts over GraphQL: the `prompts` query and `renderPrompt(name, variables, version)`.
Errors (PROMPT_NOT_FOUND, PROMPT_INVALID_VARIABLES, PROMPT_RENDER_FAILED) arrive in the
contract's shape through `ContractErrors`."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from application.prompts.manager import PromptSummary
from domain.errors import PromptInvalidVariables
from entrypoints.graphql.context import Context


@strawberry.type(name="PromptVariable")
class PromptVariableType:
    name: str
    type: str
    description: str
    required: bool
    default: JSON | None


@strawberry.type(name="Prompt")
class PromptType:
    name: str
    versions: list[str]
    latest: str
    description: str
    variables: list[PromptVariableType]
    tags: list[str]
    group: str

    @classmethod
    def of(cls, s: PromptSummary) -> PromptType:
        variables = [
            PromptVariableType(
                name=k,
                type=v.type,
                description=v.description,
                required=v.required,
                default=v.default,
            )
            for k, v in s.variables.items()
        ]
        return cls(
            name=s.name,
            versions=s.versions,
            latest=s.latest,
            description=s.description,
            variables=variables,
            tags=list(s.tags),
            group=s.group,
        )


@strawberry.type(name="RenderedPrompt")
class RenderedPromptType:
    name: str
    version: str
    text: str


@strawberry.type
class PromptQuery:
    @strawberry.field(description="The prompt templates, each with its versions.")
    async def prompts(self, info: Info[Context, None]) -> list[PromptType]:
        await info.context.require_user()
        return [PromptType.of(s) for s in info.context.container.prompt_manager().all()]

    @strawberry.field(description="Render a prompt (latest release, or `version`).")
    async def render_prompt(
        self,
        info: Info[Context, None],
        name: str,
        variables: JSON | None = None,
        version: str | None = None,
    ) -> RenderedPromptType:
        await info.context.require_user()
        rendered = await info.context.container.prompt_manager().render(
            name, _variables(variables), version
        )
        return RenderedPromptType(name=rendered.name, version=rendered.version, text=rendered.text)


def _variables(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PromptInvalidVariables(
            "variables must be a JSON object.",
            details={
                "problems": [
                    {
                        "variable": "",
                        "problem": "wrong_type",
                        "message": "variables must be a JSON object",
                    }
                ]
            },
        )
    return value
