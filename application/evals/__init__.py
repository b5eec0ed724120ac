"""Evals: agent datasets (pydantic-evals) and memory retrieval sets, scored and recorded."""
