"""Tools: declare with `@tool`, guard with `with_*`, serve through `ToolRegistry`."""

from application.tools.declare import tool
from application.tools.guards import with_cache, with_rate_limit, with_retry, with_timeout

__all__ = ["tool", "with_cache", "with_rate_limit", "with_retry", "with_timeout"]
