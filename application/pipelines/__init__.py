"""Pipeline use-cases, the one scheduler (`scheduler.schedule`), its direct step runner
(`steps`) and the in-process executor (`InProcessExecutor`)."""
