"""LoadGen's system under test (SUT) and query sample library (QSL) around the batcher.

LoadGen calls `issue` with query samples (an id and a sample index); each goes to
the batcher, and each answer goes back through `QuerySamplesComplete` with the
prediction as the response bytes. Every answer is also kept (sample index,
prediction) so the responses produced under load are scored afterwards.

LoadGen waits for every issued query before a test ends, so an answer the SUT
drops would hang the run. A watchdog thread therefore completes any query still
outstanding while the batcher is idle (nothing queued, no batch running) for
longer than `grace_s`, with an empty response, and counts it as dropped: a run
with dropped answers is recorded as an error and the empty answers score as wrong.
"""
from __future__ import annotations

import array
import json
import threading
import time

from nlpbench.serve.batcher import DynamicBatcher, Fault

DROPPED = object()  # the prediction of a dropped answer


class ServedModel:
    """One LoadGen test's SUT + QSL; use as a context manager around `lg.StartTestWithLogSettings`."""

    def __init__(self, lg, adapter, examples: list[dict], *, max_batch: int, max_wait_ms: float,
                 dtype: str = "fp32", fault: Fault | None = None, grace_s: float = 1.0):
        self.lg = lg
        self.examples = examples
        self.grace_s = grace_s
        self.lock = threading.Lock()
        self.outstanding: dict[int, tuple[int, float]] = {}  # query id -> (sample index, issued at)
        self.answers: list[tuple[int, object]] = []  # (sample index, prediction or DROPPED), completion order
        self.dropped = 0
        self.duplicates = 0  # answers for a query id not outstanding (never sent to LoadGen)
        self.batcher = DynamicBatcher(adapter, examples, self._complete, max_batch=max_batch,
                                      max_wait_ms=max_wait_ms, dtype=dtype, fault=fault)
        self._finished = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="nlpbench-watchdog", daemon=True)
        self.sut = self.qsl = None

    # -- LoadGen callbacks
    def issue(self, query_samples) -> None:
        items = [(q.id, q.index) for q in query_samples]
        now = time.perf_counter()
        with self.lock:
            for qid, index in items:
                self.outstanding[qid] = (index, now)
        self.batcher.submit(items)

    def flush(self) -> None:
        pass  # the batcher closes batches on its own deadline

    def _load(self, indices) -> None:
        pass  # the encoded examples are already in memory

    # -- answers
    def _complete(self, answers: list[tuple], dropped: bool = False) -> None:
        responses, buffers = [], []
        with self.lock:
            for qid, index, pred in answers:
                if self.outstanding.pop(qid, None) is None:
                    self.duplicates += 1
                    continue
                self.answers.append((index, DROPPED if dropped else pred))
                self.dropped += dropped
                data = b"" if dropped else json.dumps(pred).encode()
                buf = array.array("B", data)
                buffers.append(buf)  # alive until LoadGen has copied (or ignored) the bytes
                ptr, n = buf.buffer_info()
                responses.append(self.lg.QuerySampleResponse(qid, ptr if n else 0, n))
        if responses:
            self.lg.QuerySamplesComplete(responses)

    def _watch(self) -> None:
        while not self._finished.wait(0.1):
            if not self.batcher.idle():
                continue
            now = time.perf_counter()
            with self.lock:
                stale = [(q, i, None) for q, (i, t) in self.outstanding.items() if now - t > self.grace_s]
            if stale and self.batcher.idle():
                self._complete(stale, dropped=True)

    # -- lifetime
    def __enter__(self) -> "ServedModel":
        n = len(self.examples)
        self.sut = self.lg.ConstructSUT(self.issue, self.flush)
        self.qsl = self.lg.ConstructQSL(n, n, self._load, self._load)
        self.batcher.start()
        self._watchdog.start()
        return self

    def __exit__(self, *exc) -> None:
        self._finished.set()
        self._watchdog.join()
        self.batcher.stop()
        self.lg.DestroyQSL(self.qsl)
        self.lg.DestroySUT(self.sut)
