"""Evals: scored runs of an agent over a dataset, or of memory retrieval over questions."""
