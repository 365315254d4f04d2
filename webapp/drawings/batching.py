"""Prediction jobs taken in batches: celery-batches' buffer, flushed as soon as a pool process is free.

celery-batches buffers a task's messages in the worker's consumer and hands them to the pool as one list,
on a timer or every `flush_every` messages. Here a message is also handed over at once whenever fewer
batches are running than the pool has processes, so a lone drawing never waits for the timer; drawings
that arrive while every process is busy wait in the buffer and go together as the next batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any

from celery_batches import Batches, SimpleRequest, apply_batches_task


class PoolBatches(Batches):
    """A batch task flushed when a pool process is free (and, as a safety net, on celery-batches' timer).

    Messages are acknowledged when their batch returns (acks_late); if the pool process running a batch
    dies, they are given back to the broker at once, so another process takes them.
    """

    abstract = True
    _tref: Any  # celery-batches' flush timer (None when no messages wait)

    def __init__(self) -> None:
        super().__init__()
        self._running = 0
        self._processes = 1
        self._running_lock = threading.Lock()

    def Strategy(self, task: Batches, app: Any, consumer: Any) -> Callable[..., None]:  # noqa: N802 (Celery's name)
        # Called again when the consumer reconnects to the broker: what was buffered belongs to the lost
        # connection (the broker gives those messages out again) and so does the flush timer.
        self._forget_connection()
        buffer_message = super().Strategy(task, app, consumer)
        self._processes = max(1, int(consumer.pool.num_processes))

        def on_message(*args: Any, **kwargs: Any) -> None:
            buffer_message(*args, **kwargs)
            if self._running < self._processes:
                self._do_flush()

        return on_message

    def flush(self, requests: Collection[Any]) -> Any:
        late = [request for request in requests if request.task.acks_late]
        early = [request for request in requests if not request.task.acks_late]

        def accepted(pid: int, time_accepted: float) -> None:
            for request in early:
                request.acknowledge()

        def returned(result: Any) -> None:
            for request in late:
                request.acknowledge()
            self._batch_done()

        def lost(exception: Any) -> None:  # the pool process died: the broker hands the jobs out again
            for request in late:
                request.reject(requeue=True)
            self._batch_done()

        with self._running_lock:
            self._running += 1
        return self._pool.apply_async(
            apply_batches_task,
            (self, ([SimpleRequest.from_request(request) for request in requests],), 0, None),
            accept_callback=accepted,
            callback=returned,
            error_callback=lost,
        )

    def _forget_connection(self) -> None:
        while not self._buffer.empty():
            self._buffer.get_nowait()
        if self._tref is not None:
            self._tref.cancel()
            self._tref = None
        with self._running_lock:
            self._running = 0  # a batch of the lost connection that ends later does not count

    def _batch_done(self) -> None:
        with self._running_lock:
            self._running = max(0, self._running - 1)
        if not self._buffer.empty():
            self._do_flush()
