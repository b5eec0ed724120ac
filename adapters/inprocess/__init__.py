"""The in-process adapters: the same ports as sql/, redis/ and qdrant/, with their state
in the process (dicts, lists, numpy arrays). The tests' fakes (inspectable, one contract
suite with the real adapters) and the stores of the `memory://` profile; the embedded
profile uses those that fit one process (cache, rate limiter, event bus, chat windows)."""
