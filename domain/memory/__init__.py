"""Memory: what an agent remembers.

Short-term (`short_term`, `short_term_ports`): the recent window of one conversation,
fitted to a token budget, with a running summary of what fell out of it. Long-term
memories (facts recalled across conversations) live beside it in `long_term*`.
"""
