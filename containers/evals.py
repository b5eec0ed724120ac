"""Evals: agent evaluations run through the real chat turn (its memory seen through a
recorder, so recall can be scored), memory retrieval evaluations, and the stored runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.inprocess.eval_runs import InProcessEvalRunStore
from adapters.observability.eval_metrics import PrometheusEvalMetrics
from application.evals.recall import RecallRecorder
from application.evals.runs import EvalRuns
from containers.lazy import lazy
from domain.ports import EventBus

if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.sql.eval_runs import SqlEvalRunStore
    from application.chat import SendMessage
    from application.chat_recorder import TurnRecorder
    from application.chat_turn import TurnPreparer
else:
    SqlEvalRunStore = lazy("adapters.sql.eval_runs", "SqlEvalRunStore")


def _recorded_turn(
    preparer: Callable[..., TurnPreparer],
    turn_recorder: TurnRecorder,
    bus: EventBus | None,
    recall: RecallRecorder,
) -> SendMessage:
    """The chat turn of an eval case: the chat container's, its memory seen through `recall`."""
    from application.chat import SendMessage  # Pydantic AI: on the first eval run

    return SendMessage(preparer(memory=recall.current), turn_recorder, bus)


class EvalsContainer(containers.DeclarativeContainer):
    infrastructure = providers.DependenciesContainer()
    identity = providers.DependenciesContainer()
    memory = providers.DependenciesContainer()
    chat = providers.DependenciesContainer()

    eval_run_store = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlEvalRunStore, infrastructure.database),
        memory=providers.Singleton(InProcessEvalRunStore),
    )
    eval_metrics = providers.Singleton(PrometheusEvalMetrics)
    eval_runs = providers.Factory(EvalRuns, eval_run_store, eval_metrics)
    eval_recorder = providers.Singleton(RecallRecorder, memory.memory_when_open)
    eval_send_message = providers.Factory(
        _recorded_turn,
        chat.turn_preparer.provider,
        chat.turn_recorder,
        infrastructure.event_bus,
        eval_recorder,
    )
    # pydantic_evals (and the OpenTelemetry it brings) is imported on the first eval run,
    # not with the container (issue #15).
    run_agent_eval = providers.Factory(
        lazy("application.evals.agent", "RunAgentEval"),
        eval_send_message,
        chat.agent_catalog,
        identity.users,
        eval_recorder,
        memory.memory_when_open,
        infrastructure.background_tasks,
    )
    run_memory_eval = providers.Factory(
        lazy("application.evals.memory", "RunMemoryEval"), memory.long_term_memory, identity.users
    )
