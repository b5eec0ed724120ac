"""Warming up: what the first request of each kind would import, imported in the background
as the server begins to listen.

Importing the app loads only what answering `/health` and building the routes need (issue
#15): the token service, the chat turn's modules, the SQL stores and the GraphQL schema
are imported when first used (Pydantic AI itself is loaded by the start-up, which checks
the agents). `mai serve` imports them in a thread from the end of its start-up, so the
first sign-in, chat turn or GraphQL operation does not pay for them (half a second or more:
Strawberry and the schema alone are about that); a request that comes first imports what
it needs itself (Python's import lock makes both safe). Only imports and the GraphQL router
are built here: providers are built on the event loop, as always.

Then everything alive (the modules, the agents, the schema: some 270,000 objects) is moved
out of the garbage collector's reach (`gc.freeze()`, after one last `gc.collect()`): they
live as long as the process, and each full collection used to walk them all. Measured in
process on REST turns (embedded): 0.51 → 0.13 ms per turn spent in the collector.
"""

from __future__ import annotations

import gc
import importlib
import threading
from typing import TYPE_CHECKING

import structlog

from container import first_request_modules

if TYPE_CHECKING:
    from container import Container
    from entrypoints.graphql.endpoint import GraphQLEndpoint

log = structlog.get_logger(__name__)


def warm_up(container: Container, graphql: GraphQLEndpoint) -> threading.Thread:
    """Import what the first requests would (`container.first_request_modules`), build
    `/graphql` and freeze what is alive, in a daemon thread (started here)."""
    modules = first_request_modules(container.settings())

    def run() -> None:
        try:
            for module in modules:
                importlib.import_module(module)
            graphql.build()
        except Exception:  # the request that needs it meets the same error, and reports it
            log.warning("warm_up_failed", exc_info=True)
        gc.collect()
        gc.freeze()  # what start-up and the warm-up built lives as long as the process

    thread = threading.Thread(target=run, name="mai-warm-up", daemon=True)
    thread.start()
    return thread
