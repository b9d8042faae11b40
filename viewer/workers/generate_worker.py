"""The window's generator: a worker thread that holds a space of textures and its prior, turns the
Generate panel's commands into codes — a sample, a training crop, a point between two ends — and publishes each as
the packed weights of an ordinary SIREN, which the shader draws per pixel like any other network.

torch runs here only; the main thread takes `Generated` results from the mailbox."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.modelfile import packed_of, save
from texinr.trainer.generation import functa
from texinr.trainer.generation.crops import centre_crop
from texinr.trainer.generation.generate import SETTINGS, generated_file, open_space, opening_ends
from texinr.viewer.workers.worker import Mailbox


@dataclass(frozen=True)
class SampleEnd:
    """A new texture from the prior into end A (0) or B (1)."""

    end: int
    seed: int
    steps: int
    eta: float


@dataclass(frozen=True)
class CropEnd:
    """A training crop's code into end A (0) or B (1)."""

    end: int
    index: int


@dataclass(frozen=True)
class EncodeEnd:
    """A texture outside the set (the one the window shows) into end A (0) or B (1): its code, optimised alone."""

    end: int
    image: object  # (H, W, 3) float colours in [0, 1]
    name: str


@dataclass(frozen=True)
class Mix:
    """Show the point t in [0, 1] between A and B."""

    t: float


DEFAULT_SAVE = "texinr-generated.texinr"
"""Where Save writes the texture on show when the Files panel's path is empty."""


@dataclass(frozen=True)
class SaveShown:
    path: Path


@dataclass(frozen=True)
class StopGenerator:
    pass


@dataclass
class SpaceInfo:
    path: str
    codes: int
    latent: int
    width: int
    depth: int
    crop: int
    fit_psnr: float
    has_prior: bool


@dataclass
class Generated:
    """What the worker publishes: the weights to show and what they are."""

    version: int
    packed: object
    t: float
    ends: tuple[str, str]
    info: SpaceInfo


class GenerateWorker:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.mailbox: Mailbox[Generated] = Mailbox()
        self._inbox: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._main, name="texinr-generate", daemon=True)
        self._version = 0
        self.events: queue.SimpleQueue[str] = queue.SimpleQueue()  # every message reaches the panel, in order

    def start(self) -> GenerateWorker:
        self._thread.start()
        return self

    def send(self, command) -> None:
        self._inbox.put(command)

    def stop(self, timeout: float = 5.0) -> None:
        self._inbox.put(StopGenerator())
        self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------------------------------
    def _main(self) -> None:
        torch.set_num_threads(1)  # the training worker, if any, has the other cores
        try:
            self._open()
        except TexinrError as e:
            self.events.put(f"error: {e}")
            return
        except Exception as e:  # the window must stay up: the space does not open, and says why
            self.events.put(f"error: {self.path}: cannot open the space ({type(e).__name__}: {e})")
            return
        while True:
            cmd = self._inbox.get()
            while isinstance(cmd, Mix) and not self._inbox.empty():  # a dragged slider: only its last value
                nxt = self._inbox.get()
                if not isinstance(nxt, Mix):
                    self._apply(cmd, show=False)
                cmd = nxt
            if isinstance(cmd, StopGenerator):
                return
            try:
                self._apply(cmd)
            except TexinrError as e:
                self.events.put(f"error: {e}")
            except Exception as e:  # the window must stay up: say what went wrong
                self.events.put(f"error: generate: {type(e).__name__}: {e}")

    def _open(self) -> None:
        """The space, its prior and the first two ends (the first one shown)."""
        self.space, self.prior = open_space(self.path)
        s = self.space
        self.info = SpaceInfo(
            str(self.path),
            len(s.codes),
            s.codes.shape[1],
            s.model.cfg.width,
            s.model.cfg.depth,
            int(s.meta.get("crop", 64)),
            float(torch.tensor(s.psnr).median()),
            self.prior is not None,
        )
        ends = opening_ends(s, self.prior)  # A shown first, as `texinr-view --space --headless` shows it
        self.codes, self.names = [c for c, _ in ends], [n for _, n in ends]
        self.t = 0.0
        self._publish()

    def _apply(self, cmd, show: bool = True) -> None:
        if isinstance(cmd, SampleEnd):
            if self.prior is None:
                raise TexinrError(f"{self.path}: no prior beside this space; run `texinr-generate prior`")
            code = self.prior.sample(1, seed=cmd.seed, sampling_steps=cmd.steps, eta=cmd.eta)[0]
            self.codes[cmd.end], self.names[cmd.end] = code, f"sample (seed {cmd.seed})"
            self.t = float(cmd.end)
        elif isinstance(cmd, CropEnd):
            if not 0 <= cmd.index < len(self.space.codes):
                raise TexinrError(f"the space has crops 0 to {len(self.space.codes) - 1}")
            self.codes[cmd.end], self.names[cmd.end] = self.space.codes[cmd.index], f"crop {cmd.index}"
            self.t = float(cmd.end)
        elif isinstance(cmd, EncodeEnd):
            crop = centre_crop(cmd.image, self.info.crop, int(self.space.meta.get("scale", 256)), cmd.name)
            steps = int(SETTINGS["encode_steps"]["default"])
            self.events.put(f"encoding {cmd.name} ({steps} steps) ...")
            t0 = time.perf_counter()
            code = functa.encode(self.space.model, crop[None], steps)
            psnr = float(functa.psnr_per_crop(self.space.model, code, crop[None])[0])
            self.codes[cmd.end], self.names[cmd.end] = code[0], f"encoded {cmd.name}"
            self.t = float(cmd.end)
            self.events.put(f"encoded {cmd.name}: {psnr:.1f} dB in {time.perf_counter() - t0:.1f} s")
        elif isinstance(cmd, Mix):
            self.t = min(max(float(cmd.t), 0.0), 1.0)
        elif isinstance(cmd, SaveShown):
            try:
                save(self._file(), cmd.path)
            except OSError as e:
                raise TexinrError(f"cannot save {cmd.path}: {e.strerror or e}") from None
            self.events.put(f"saved {cmd.path}")
            return
        if show:
            self._publish()

    def _code(self):
        a, b = self.codes
        return (1 - self.t) * a + self.t * b

    def _file(self):
        origin = {"ends": list(self.names), "t": self.t}
        return generated_file(self.space, self._code(), self.info.crop, origin)

    def _publish(self) -> None:
        """The texture on show, as stored (half precision, what Save writes), in the shader's layout."""
        self._version += 1
        self.mailbox.publish(Generated(self._version, packed_of(self._file()), self.t, tuple(self.names), self.info))
