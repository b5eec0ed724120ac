"""The capability containers the composition root (`container.py`) connects.

One dependency-injector `DeclarativeContainer` per capability, as in dependency-injector's
"decoupled packages" example: each declares what it needs from the others as
`providers.DependenciesContainer()` / `providers.Dependency()` and wires its own adapters
and use-cases; only the root knows all of them. Like `container.py`, these modules may
import concrete adapters; domain, application and adapters never import them.

    infrastructure  the clients every capability shares (database, Redis) and the shared
                    services on them (cache, rate limiter, event bus)
    models          the LLM server: its HTTP client, the chat model, its health
    identity        users, sessions, tokens, API keys, request limits
    memory          long-term memory: repository, vector index, embedder, use-cases
    tools           the tool registry (Python, HTTP and MCP tools), switches, approvals
    chat            prompts, agents, conversations and the chat turn
    pipelines       declared pipelines and their executor (in process or DBOS)
    evals           agent and memory evaluations
"""
