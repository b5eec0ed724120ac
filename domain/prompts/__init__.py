"""Prompts as content: versioned templates with declared, typed variables."""
