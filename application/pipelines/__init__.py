"""Pipeline use-cases and the in-process executor (`InProcessExecutor`)."""
