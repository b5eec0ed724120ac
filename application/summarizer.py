"""The running summary of a long conversation, written by an agent on the configured model."""

from __future__ import annotations

from application.agents.ports import ModelSource
from application.agents.runner import AgentRunner
from domain.agents.models import AgentDefinition
from domain.conversations.models import Message
from domain.memory.short_term import ConversationMemory
from domain.model_params import ModelParams

INSTRUCTIONS = (
    "You maintain a running summary of a conversation between a user and an assistant. "
    "Merge the previous summary with the new messages into one short paragraph (at most "
    "120 words) keeping names, numbers, decisions, open questions and the user's stated "
    "preferences. Reply with the summary only."
)


class AgentSummarizer:
    """The `Summarizer` port as a small Pydantic AI agent (built once, reused)."""

    def __init__(self, models: ModelSource, *, max_tokens: int = 256) -> None:
        self._agent: AgentRunner[str] = AgentRunner(
            AgentDefinition(
                name="summarizer",
                instructions=INSTRUCTIONS,
                model_settings=ModelParams(temperature=0.2, max_tokens=max_tokens),
            ),
            models=models,
        )

    async def summarize(self, previous_summary: str | None, messages: list[Message]) -> str:
        transcript = ConversationMemory(messages).get_context_string("simple")
        prompt = f"Previous summary: {previous_summary or '(none)'}\n\nNew messages:\n{transcript}"
        result = await self._agent.run_async(prompt)
        return result.output.strip()
