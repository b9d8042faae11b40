"""The training thread: owns the torch model, publishes immutable snapshots, obeys a queue of commands.

The main thread (glfw, GL, imgui) never touches torch; the worker never touches GL. They share only
`ViewerSnapshot`s (numpy arrays and scalars, through a latest-wins `Mailbox`) and `Command`s (through a queue).
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from texinr.trainer.core.allocation import start
from texinr.trainer.core.config import Config
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.modelfile import pack as pack_file
from texinr.trainer.core.packing import PackedWeights, pack
from texinr.trainer.core.train import set_threads

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Holds only the newest item; publish() never blocks the trainer."""

    def __init__(self):
        self._lock = threading.Lock()
        self._item: T | None = None

    def publish(self, item: T) -> None:
        with self._lock:
            self._item = item

    def take(self) -> T | None:
        with self._lock:
            item, self._item = self._item, None
            return item


@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Reset:
    """Restart training from scratch with this configuration (and optionally a new image)."""

    config: Config
    image: np.ndarray | None = None


@dataclass(frozen=True)
class SetLearningRate:
    lr: float


@dataclass(frozen=True)
class SetThreads:
    threads: int


@dataclass(frozen=True)
class TrainLonger:
    """After the schedule ends: another schedule of the same budget from the current weights (Trainer.extend)."""


@dataclass(frozen=True)
class Stop:
    pass


Command = Pause | Resume | Reset | SetLearningRate | SetThreads | TrainLonger | Stop


@dataclass(frozen=True)
class ViewerSnapshot:
    """One published state of training, ready for the renderer: packed weights, scalars, no torch."""

    run: int  # increments at every Reset: a new run's history starts over
    version: int  # increments at every publish: the renderer uploads weights only when it changes
    step: int
    loss: float
    psnr: float
    elapsed: float
    steps_per_s: float
    lr: float
    progress: float
    paused: bool
    done: bool
    config: Config
    packed: PackedWeights
    mips: int
    payload_bits: int = 0  # what the model costs stored at config.bits (bpp = payload_bits / pixels)
    events: tuple[str, ...] = ()
    error: str | None = None
    device: str = ""  # where it trains, as trainer.core.device.describe says
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # at stored precision, dequantised


def stored_weights(trainer) -> tuple[PackedWeights, int, dict[str, np.ndarray]]:
    """The trainer's model as a `.texinr` saved now would hold it (every tensor rounded to its stored precision),
    packed for the shader, its payload bits and the stored weights: what is on screen is what would be shipped."""
    h, w = trainer.samples.height, trainer.samples.width
    f = pack_file(trainer.model, trainer.config.bits, w, h, trainer.samples.mips)
    weights = {t.name: t.dequantize() for t in f.tensors}
    return pack(trainer.config.model.to_dict(), weights), f.payload_bits, weights


PUBLISH_SHARE_INV = 10.0
"""Publishing (rounding to stored precision, packing for the shader) takes the training thread's time: snapshots
are spaced at least 10 x the last one's cost apart, so it stays under ~10% of training (a 2.7-bpp codec of a
512^2 texture: ~0.1 s per publish; at a fixed 0.5 s the window kept 42-50% of the headless training speed)."""


class TrainingWorker:
    """Runs `trainer.core.train.Trainer` on a daemon thread, begun as texinr-train begins it (the codec's allocations
    raced: trainer.core.allocation.start); publish_every is in seconds of wall time."""

    def __init__(self, image: np.ndarray, config: Config, publish_every: float = 0.2, start_paused: bool = False):
        self.mailbox: Mailbox[ViewerSnapshot] = Mailbox()
        self.commands: queue.Queue[Command] = queue.Queue()
        self._image = image
        self._config = config
        self._publish_every = publish_every
        self.publish_cost = 0.0  # seconds the last publish took (rounding, packing): it sets the next interval
        self._paused = start_paused
        self._run = 0
        self._version = 0
        self._thread = threading.Thread(target=self._main, name="texinr-trainer", daemon=True)
        self.steps_done = 0  # total steps over all runs, for the viewer's statistics

    # -- main-thread side -------------------------------------------------------------------------------------
    def start(self) -> TrainingWorker:
        self._thread.start()
        return self

    def send(self, command: Command) -> None:
        self.commands.put(command)

    def stop(self, timeout: float = 5.0) -> None:
        self.commands.put(Stop())
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- worker-thread side -----------------------------------------------------------------------------------
    def _main(self) -> None:
        trainer, error = None, None
        try:
            trainer = start(self._image, self._config).trainer
        except Exception as e:  # a bad configuration must not kill the app
            error = f"{type(e).__name__}: {e}"
        last = 0.0
        self._publish(trainer, error)
        while True:
            try:
                cmd = (
                    self.commands.get(timeout=0.05)
                    if (self._paused or trainer is None or trainer.done)
                    else self.commands.get_nowait()
                )
            except queue.Empty:
                cmd = None
            if cmd is not None:
                if isinstance(cmd, Stop):
                    return
                trainer, error = self._apply(cmd, trainer)
                self._publish(trainer, error)
                if trainer is not None:
                    error = None  # said once: the panel keeps the message, later snapshots do not repeat it
                last = time.perf_counter()
                continue
            if trainer is None or self._paused or trainer.done:
                continue
            try:
                trainer.step()
                self.steps_done += 1
            except TexinrError as e:  # e.g. out of device memory: said in the panel, no traceback
                error = f"training stopped: {e}"
                self._paused = True
            except Exception as e:
                error = f"training stopped: {type(e).__name__}: {e}"
                traceback.print_exc()
                self._paused = True
            now = time.perf_counter()
            interval = max(self._publish_every, PUBLISH_SHARE_INV * self.publish_cost)
            if now - last >= interval or trainer.done or trainer.pending_events:
                self._publish(trainer, error)
                error = None
                last = now

    def _apply(self, cmd: Command, trainer):
        if isinstance(cmd, Pause):
            self._paused = True
        elif isinstance(cmd, Resume):
            self._paused = False
        elif isinstance(cmd, SetLearningRate):
            if trainer is not None:
                try:
                    trainer.set_lr(cmd.lr)
                except ValueError as e:
                    return trainer, str(e)
        elif isinstance(cmd, SetThreads):
            set_threads(cmd.threads)
        elif isinstance(cmd, TrainLonger):
            if trainer is not None and trainer.done:
                trainer.extend()
                self._paused = False
        elif isinstance(cmd, Reset):
            image = cmd.image if cmd.image is not None else self._image
            try:
                new = start(image, cmd.config).trainer
            except Exception as e:
                return trainer, f"cannot apply: {type(e).__name__}: {e}"  # the last good run stays
            self._image, self._config, self._run = image, cmd.config, self._run + 1
            return new, None
        return trainer, None

    def _publish(self, trainer, error: str | None) -> None:
        if trainer is None:
            return
        t0 = time.perf_counter()
        self._publish_now(trainer, error)
        self.publish_cost = time.perf_counter() - t0

    def _publish_now(self, trainer, error: str | None) -> None:
        snap = trainer.snapshot(with_weights=False)
        packed, bits, weights = stored_weights(trainer)
        self._version += 1
        cfg = trainer.config
        self.mailbox.publish(
            ViewerSnapshot(
                run=self._run,
                version=self._version,
                step=snap.step,
                loss=snap.loss,
                psnr=snap.psnr,
                elapsed=snap.elapsed,
                steps_per_s=snap.steps_per_s,
                lr=snap.lr,
                progress=snap.progress,
                paused=self._paused,
                done=snap.done,
                config=cfg,
                packed=packed,
                mips=trainer.samples.mips,
                payload_bits=bits,
                events=snap.events,
                error=error,
                device=trainer.device_name,
                weights=weights,
            )
        )
