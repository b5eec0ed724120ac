"""DBOS: durable pipeline runs (workflows checkpointed in a system database, shared by
worker processes through a DBOS queue). See `executor` for operation, `workflow` for the
guarantees a run gets."""
