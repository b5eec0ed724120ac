"""`mai eval agent`: a pydantic-evals dataset run through the real chat turn.

Each case gets a fresh evaluation user (seeded with the case's `metadata.memories`, if
any) and a fresh conversation; a multi-turn case sends its messages in order on that
conversation and is judged on the last reply, with the tool calls and recalled memories of
all its turns recorded for MAI's evaluators. The user and everything they own are removed
after the case, whatever happened. Cases run one at a time: a local model serves one
request at a time anyway, and the recorder is per run.

A case's score is the mean of its assertions (pass = 1), numeric scores (clamped to 0..1)
and evaluators that could not run (0); a case that raised scores 0; the run's score is the
mean over cases.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

import structlog
from pydantic_evals import Case
from pydantic_evals.dataset import set_eval_attribute
from pydantic_evals.lifecycle import CaseLifecycle
from pydantic_evals.reporting import EvaluationReport, ReportCase, ReportCaseFailure

from application.agents.catalog import AgentCatalog
from application.chat import SendMessage
from application.evals.datasets import AgentDataset, messages_of
from application.evals.evaluators import RECALLED, TOOL_CALLS
from application.evals.recall import RecallRecorder
from application.memory import LongTermMemory, NewMemory
from domain.agents.models import AgentDefinition
from domain.errors import ConfigurationError, ServiceUnavailable
from domain.evals.models import CaseScore, EvalKind, EvalRun, average
from domain.identity.models import User
from domain.identity.ports import UserRepository
from domain.ports import BackgroundTasks
from domain.prompts.refs import PromptRef

log = structlog.get_logger("mai.evals")
UNUSABLE_PASSWORD = "!eval-user"  # not a bcrypt hash: nobody can sign in as an eval user


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


def case_score(case: ReportCase[Any, Any, Any]) -> CaseScore:
    assertions = {k: bool(v.value) for k, v in case.assertions.items()}
    scores = {k: _clamp(v.value) for k, v in case.scores.items()}
    failures = [f"{f.name}: {f.error_message}" for f in case.evaluator_failures]
    # An evaluator that could not run (a judge model unreachable…) counts as a failed check.
    parts = [float(v) for v in assertions.values()] + list(scores.values()) + [0.0] * len(failures)
    return CaseScore(
        case.name,
        average(parts) if parts else 1.0,
        duration=case.task_duration,
        assertions=assertions,
        scores=scores,
        error="; ".join(failures) or None,
        output=None if case.output is None else str(case.output),
    )


def failed_case(failure: ReportCaseFailure[Any, Any, Any]) -> CaseScore:
    return CaseScore(failure.name, 0.0, error=failure.error_message.splitlines()[0][:300])


class RunAgentEval:
    def __init__(
        self,
        turns: SendMessage,
        catalog: AgentCatalog,
        users: UserRepository,
        recorder: RecallRecorder,
        memory: Callable[[], LongTermMemory | None],
        tasks: BackgroundTasks,
    ) -> None:
        self._tasks = tasks  # the work a case's turns leave behind, waited for per case
        self._turns = turns
        self._catalog = catalog
        self._users = users
        self._recorder = recorder
        self._memory = memory
        self._user: User | None = None

    def check(self, agent: str, prompt_versions: Iterable[str | None]) -> None:
        """Fail before anything runs: an unknown agent (NOT_FOUND), or any of the prompt
        versions (one per `--compare` variant) the agent's prompt does not have."""
        for version in prompt_versions:
            self._pinned(agent, version)

    def prepare(self, agent: str, prompt_version: str | None = None) -> None:
        """Check the agent and the prompt version, and pin the agent to that version."""
        pinned = self._pinned(agent, prompt_version)
        if pinned is not None:
            self._catalog.register(pinned)

    def _pinned(self, agent: str, prompt_version: str | None) -> AgentDefinition | None:
        """The agent's definition with its prompt pinned to `prompt_version`, checked by the
        catalog (the version exists, its variables are supplied); None when not pinned."""
        definition = self._catalog.definition(agent)
        if prompt_version is None:
            return None
        if definition.prompt is None:
            raise ConfigurationError(
                f"Agent {agent!r} has no prompt file, so --prompt-version does not apply.",
                details={"agent": agent, "field": "prompt"},
            )
        ref = PromptRef(PromptRef.parse(definition.prompt).name, prompt_version)
        pinned = PromptRef.parse(str(ref))  # validates the version's syntax
        updated = definition.model_copy(update={"prompt": str(pinned)})
        self._catalog.check(updated)
        return updated

    async def execute(
        self,
        dataset: AgentDataset,
        agent: str,
        *,
        model: str | None = None,
        prompt_version: str | None = None,
        threshold: float | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> EvalRun:
        self.prepare(agent, prompt_version)
        needs_memory = any((c.metadata or {}).get("memories") for c in dataset.cases)
        if needs_memory and self._memory() is None:
            raise ServiceUnavailable(
                "This dataset seeds memories, but long-term memory is not open in this process."
            )

        async def task(inputs: Any) -> Any:
            assert self._user is not None
            conversation: UUID | None = None
            calls: list[dict[str, Any]] = []
            output: Any = None
            for message in messages_of(inputs):
                result = await self._turns.execute(
                    self._user.id, agent, message, conversation, username=self._user.username
                )
                conversation, output = result.conversation_id, result.output
                calls += [
                    {k: c.get(k) for k in ("name", "args", "result")} for c in result.tool_calls
                ]
            set_eval_attribute(TOOL_CALLS, calls)
            set_eval_attribute(RECALLED, list(self._recorder.recalled))
            return output

        report = await dataset.evaluate(
            task,
            name=agent,
            max_concurrency=1,
            progress=False,
            lifecycle=lambda case: _Lifecycle(case, self, progress),
        )
        return self._run_of(report, dataset.name, agent, model, prompt_version, threshold)

    @staticmethod
    def _run_of(
        report: EvaluationReport[Any, Any, Any],
        dataset: str,
        agent: str,
        model: str | None,
        prompt_version: str | None,
        threshold: float | None,
    ) -> EvalRun:
        by_name = {c.name: case_score(c) for c in report.cases}
        by_name.update({f.name: failed_case(f) for f in report.failures})
        cases = list(by_name.values())
        durations = sorted(c.duration for c in cases)
        return EvalRun(
            EvalKind.AGENT,
            dataset,
            agent,
            average([c.score for c in cases]),
            cases=cases,
            metrics={
                "cases": float(len(cases)),
                "failed": float(len(report.failures)),
                "duration_max": durations[-1] if durations else 0.0,
            },
            model=model,
            prompt_version=prompt_version,
            threshold=threshold,
        )

    # --- one case's evaluation user ------------------------------------------------------
    async def _open_user(self, memories: list[str]) -> None:
        tag = secrets.token_hex(6)
        user = User(f"eval-{tag}", f"eval-{tag}@eval.invalid", UNUSABLE_PASSWORD)
        await self._users.add(user)
        self._user = user
        self._recorder.reset()
        memory = self._memory()
        if memories and memory is not None:
            await memory.store_many(user.id, [NewMemory(m) for m in memories])

    async def _close_user(self) -> None:
        user, self._user = self._user, None
        if user is None:
            return
        await self._tasks.drain()  # an episode being written would outlive its user
        await remove_user(user.id, self._users, self._memory())


async def remove_user(user_id: UUID, users: UserRepository, memory: LongTermMemory | None) -> None:
    """Forget the user's memories (so the vector index lets go of them too), then remove
    the user, which takes their conversations and messages with it."""
    if memory is not None:
        while True:
            page = await memory.get_recent(user_id, limit=100)
            if not page.items:
                break
            for item in page.items:
                await memory.forget(user_id, item.id)
    await users.delete(user_id)


class _Lifecycle(CaseLifecycle[Any, Any, Any]):
    def __init__(
        self,
        case: Case[Any, Any, Any],
        runner: RunAgentEval,
        progress: Callable[[str], None] | None,
    ) -> None:
        super().__init__(case)
        self._runner = runner
        self._progress = progress

    async def setup(self) -> None:
        await self._runner._open_user(list((self.case.metadata or {}).get("memories", [])))

    async def teardown(self, result: Any) -> None:
        try:
            await self._runner._close_user()
        except Exception as exc:  # cleanup trouble is logged, never a lost report
            log.warning("eval_user_cleanup_failed", error_type=type(exc).__name__)
        if self._progress is not None:
            self._progress(self.case.name or "")
