"""Chat: the prompts, the agents (AGENTS__DIR) and what they see of a conversation (the
cached window and its summary), the conversations, and the chat turn in its forms (whole,
streamed, the UI protocols', resumed after an approval), whose events followers receive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from adapters.inprocess.conversations import InProcessConversationStore
from adapters.inprocess.window import InProcessWindowStore
from adapters.observability.metrics import PrometheusChatMetrics
from adapters.prompts import YamlPromptSource
from adapters.settings import Settings
from application import conversations
from application.chat_events import FollowConversation
from application.conversation_window import ConversationWindow
from containers.lazy import lazy
from domain.ports import Clock

if TYPE_CHECKING:  # the classes, for the type checker; built lazily at run time
    from adapters.config.agents import YamlAgentSource
    from adapters.redis.window_store import RedisWindowStore
    from adapters.sql.conversations import SqlConversationStore
    from application.agents.catalog import AgentCatalog
    from application.approvals import ResolveApproval
    from application.chat import SendMessage, StreamMessage
    from application.chat_native import StreamNative
    from application.chat_recorder import TurnRecorder
    from application.chat_turn import TurnPreparer
    from application.prompts import PromptManager
    from application.summarizer import AgentSummarizer
else:
    RedisWindowStore = lazy("adapters.redis.window_store", "RedisWindowStore")
    SqlConversationStore = lazy("adapters.sql.conversations", "SqlConversationStore")
    PromptManager = lazy("application.prompts", "PromptManager")  # Jinja's sandbox
    # The chat turn and the agents run on Pydantic AI (about a second to import): imported when
    # first built (the API's lifespan builds the catalog), not with the container (issue #15).
    YamlAgentSource = lazy("adapters.config.agents", "YamlAgentSource")
    AgentCatalog = lazy("application.agents.catalog", "AgentCatalog")
    AgentSummarizer = lazy("application.summarizer", "AgentSummarizer")
    TurnPreparer = lazy("application.chat_turn", "TurnPreparer")
    TurnRecorder = lazy("application.chat_recorder", "TurnRecorder")
    SendMessage = lazy("application.chat", "SendMessage")
    StreamMessage = lazy("application.chat", "StreamMessage")
    StreamNative = lazy("application.chat_native", "StreamNative")
    ResolveApproval = lazy("application.approvals", "ResolveApproval")


class ChatContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock: providers.Dependency[Clock] = providers.Dependency()
    infrastructure = providers.DependenciesContainer()
    models = providers.DependenciesContainer()
    memory = providers.DependenciesContainer()
    tools = providers.DependenciesContainer()

    # --- prompts: every prompt file loaded and compiled when first built -------------------
    prompt_source = providers.Singleton(YamlPromptSource, settings.provided.prompts.dir)
    prompt_manager = providers.Singleton(
        PromptManager,
        prompt_source,
        infrastructure.cache,
        max_output_chars=settings.provided.prompts.max_output_chars,
        cache_ttl=settings.provided.prompts.cache_ttl,
        hot_reload=settings.provided.prompts.hot_reload,
    )

    # --- conversations and what an agent sees of one ----------------------------------------
    conversation_store = providers.Selector(
        infrastructure.store_kind,
        sql=providers.Singleton(SqlConversationStore, infrastructure.database),
        memory=providers.Singleton(InProcessConversationStore),
    )
    window_store = providers.Selector(
        infrastructure.cache_kind,
        redis=providers.Singleton(RedisWindowStore, infrastructure.redis_client),
        memory=providers.Singleton(InProcessWindowStore),
    )
    summarizer = providers.Singleton(AgentSummarizer, models.model_source)
    conversation_window = providers.Singleton(
        ConversationWindow,
        conversation_store,
        window_store,
        tasks=infrastructure.background_tasks,
        summarizer=summarizer,
    )
    list_conversations = providers.Factory(conversations.ListConversations, conversation_store)
    get_conversation = providers.Factory(conversations.GetConversation, conversation_store)
    list_messages = providers.Factory(conversations.ListMessages, conversation_store)
    delete_conversation = providers.Factory(
        conversations.DeleteConversation, conversation_store, clock
    )

    # --- agents ------------------------------------------------------------------------------
    agent_source = providers.Singleton(YamlAgentSource, settings.provided.agents.dir)
    agent_catalog = providers.Singleton(
        AgentCatalog,
        agent_source,
        models.model_source,
        tools.tool_registry,
        conversation_store,
        window=conversation_window,
        prompts=prompt_manager,
    )
    chat_metrics = providers.Singleton(PrometheusChatMetrics)

    # --- the chat turn: its forms compose the same two parts -----------------------------------
    # what can refuse a turn (no writes), and what records it (every write, the run guard)
    turn_preparer = providers.Factory(
        TurnPreparer,
        agents=agent_catalog,
        conversations=conversation_store,
        max_message_chars=settings.provided.agents.max_message_chars,
        window=conversation_window,
        memory=memory.memory_when_open,
    )
    turn_recorder = providers.Factory(
        TurnRecorder,
        conversations=conversation_store,
        window=conversation_window,
        metrics=chat_metrics,
        facts=memory.fact_extractor,
        approvals=tools.approval_store,
        tasks=infrastructure.background_tasks,
    )
    send_message = providers.Factory(
        SendMessage, turn_preparer, turn_recorder, infrastructure.event_bus
    )
    stream_message = providers.Factory(
        StreamMessage, turn_preparer, turn_recorder, infrastructure.event_bus
    )
    stream_native = providers.Factory(  # the UI protocol endpoints
        StreamNative, turn_preparer, turn_recorder, infrastructure.event_bus
    )
    resolve_approval = providers.Factory(
        ResolveApproval, tools.approval_store, turn_preparer, turn_recorder
    )
    follow_conversation = providers.Factory(
        FollowConversation, conversation_store, infrastructure.event_bus
    )
