"""Background work on asyncio: `BackgroundTaskGroup`, the `BackgroundTasks` port on one
`asyncio.TaskGroup` that the application runtime starts and closes."""
