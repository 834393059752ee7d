"""A dynamic batcher: queued requests become one padded batch of at most `max_batch`.

A batch closes when it is full or when its oldest request has waited `max_wait_ms`.
It is padded exactly as in evaluation (`adapter.collate` of the encoded examples)
and answered with `adapter.predict`, so a translation request decodes with the
suite's decoding settings (greedy or beam, max length) held by the adapter.

`Fault` exists for tests: it makes the batcher drop or reorder answers, the
failures the serving harness must never report as a clean result.
"""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nlpbench.quality.train import autocast


@dataclass
class Fault:
    """Deliberate bugs, for tests only."""

    drop: int = 0  # forget the answers of the first `drop` requests (never completed)
    reorder: bool = False  # hand each batch's answers back in reverse order


@dataclass
class Request:
    query_id: int  # LoadGen's id of this query sample
    index: int  # the sample's index in the examples list
    arrived: float  # perf_counter seconds


class DynamicBatcher:
    """One worker thread; `submit` from any thread; answers go to `complete([(query_id, index, pred)])`."""

    def __init__(self, adapter, examples: list[dict], complete: Callable[[list[tuple]], None], *,
                 max_batch: int, max_wait_ms: float, dtype: str = "fp32", fault: Fault | None = None):
        self.adapter, self.examples, self.complete = adapter, examples, complete
        self.max_batch, self.max_wait = max_batch, max_wait_ms / 1000.0
        self.dtype, self.fault = dtype, fault or Fault()
        self.device = next(adapter.model.parameters()).device
        self.pending: deque[Request] = deque()
        self.cv = threading.Condition()
        self.busy = False
        self.stopping = False
        self.batch_sizes: Counter = Counter()
        self.padded_tokens = 0  # tokens in the padded batches (real + padding)
        self.real_tokens = 0
        self.errors: list[str] = []
        self._dropped_so_far = 0
        self.thread = threading.Thread(target=self._loop, name="nlpbench-batcher", daemon=True)

    def start(self) -> None:
        self.adapter.model.eval()
        self.thread.start()

    def stop(self) -> None:
        with self.cv:
            self.stopping = True
            self.cv.notify_all()
        self.thread.join()

    def submit(self, items: list[tuple[int, int]]) -> None:
        now = time.perf_counter()
        with self.cv:
            self.pending.extend(Request(q, i, now) for q, i in items)
            self.cv.notify_all()

    def idle(self) -> bool:
        """Nothing queued and no batch being computed."""
        with self.cv:
            return not self.pending and not self.busy

    def _take(self) -> list[Request] | None:
        with self.cv:
            while not self.pending and not self.stopping:
                self.cv.wait()
            if not self.pending:
                return None  # stopping
            while len(self.pending) < self.max_batch and not self.stopping:
                left = self.pending[0].arrived + self.max_wait - time.perf_counter()
                if left <= 0:
                    break
                self.cv.wait(left)
            batch = [self.pending.popleft() for _ in range(min(self.max_batch, len(self.pending)))]
            self.busy = True
            return batch

    def _loop(self) -> None:
        torch.set_grad_enabled(False)  # grad mode is per thread
        while (batch := self._take()) is not None:
            try:
                self.complete(self._answer(batch))
            finally:
                with self.cv:
                    self.busy = False

    def _answer(self, batch: list[Request]) -> list[tuple]:
        examples = [self.examples[r.index] for r in batch]
        self.batch_sizes[len(batch)] += 1
        try:
            with torch.inference_mode(), autocast(self.device, self.dtype):
                inputs = self.adapter.collate(examples)
                preds = self.adapter.predict(inputs)
            self._count_tokens(examples)
        except Exception as e:  # an answer must still go back, or LoadGen waits forever
            self.errors.append(f"{type(e).__name__}: {e}")
            preds = [None] * len(batch)
        if self.fault.reorder:
            preds = preds[::-1]
        answers = [(r.query_id, r.index, p) for r, p in zip(batch, preds)]
        if self._dropped_so_far < self.fault.drop:
            n = min(self.fault.drop - self._dropped_so_far, len(answers))
            self._dropped_so_far += n
            answers = answers[n:]
        return answers

    def _count_tokens(self, examples: list[dict]) -> None:
        lengths = [e["length"] for e in examples]
        self.real_tokens += sum(lengths)
        self.padded_tokens += max(lengths) * len(lengths)
