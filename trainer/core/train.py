"""Step-wise, cancellable fitting of a texture field, emitting snapshots.

`Trainer` is what the viewer drives from its worker thread: `step()` one optimizer step at a time, `snapshot()`
an immutable record (numpy arrays and scalars only) to hand across threads. `fit()` is the pure function
(image, config) -> result that the command line, the bench and any batch system call.

Divergence (a non-finite loss, or one above DIVERGED_LOSS, which no sane fit of [0, 1] colours reaches) does not
end a run: the last good weights and optimizer state come back, the learning rate drops by LR_DROP, and the
event is recorded.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from texinr.trainer.core import families, memory
from texinr.trainer.core.channels import colour_map, is_material, parse_layout
from texinr.trainer.core.config import Config
from texinr.trainer.core.data import TextureSamples, pixel_centres_uv01
from texinr.trainer.core.device import describe as describe_device
from texinr.trainer.core.device import is_out_of_memory
from texinr.trainer.core.device import resolve as resolve_device
from texinr.trainer.core.encodings import RowTables
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.flip_loss import flip_map
from texinr.trainer.core.metrics import psnr_from_mse
from texinr.trainer.core.models import TextureField, build_model
from texinr.trainer.core.profile import count_step, part, phase
from texinr.trainer.core.sizing import config_bits, resolve
from texinr.trainer.core.sparse import Adams, RowAdam

RECIPE = 3
"""Revision of the training code's results: raise it when a change moves what a run reaches (the bench keeps its
cached results per recipe). 2: fused Adam, one gather per batch (about 5-10 % more steps per second). 3: large latent
tables trained row by row (lazy Adam), the last good state copied by the model's size (2048^2: 1.6x, 4096^2: 6.7x
the codec's steps per second)."""
DIVERGED_LOSS = 10.0
"""Mean squared error on [0, 1] colours; predicting mid-grey everywhere scores at most 0.25."""
LR_DROP = 0.25
GOOD_EVERY = 10
"""Steps between copies of the last good state, at least."""
GOOD_VALUES_PER_STEP = 200_000
"""Copying the last good state costs at most this many values per step, amortised (about 1 ms on 2 cores): a large
model's copy (at 4096^2 the latents and both Adam moments are about 80M values) is taken every few hundred steps
instead of every GOOD_EVERY. Counted from the model's size, not timed, so that a step budget repeats bit for bit."""
FLIP_LR_SCALE = 0.1
"""Learning-rate factor of the LDR-FLIP finish (fresh Adam state): 37.50 dB / FLIP 0.0453 vs 36.57 / 0.0517 at 1.0
and 37.03 / 0.0492 at 0.3 (brick_wall_001, codec 2 bpp, 60 s, last 30% on FLIP)."""
FLIP_EPS = 1e-8
"""Smoothing of the FLIP loss at zero difference (trainer.core.flip_loss.flip_map's eps)."""
FLIP_PATCH = 64
"""Side of the square patches the FLIP finish compares (its filters reach about 20 pixels)."""
FLIP_REST_WEIGHT = 100.0
"""A material's FLIP finish: FLIP on the base colour plus this times the mean squared error of its other maps
(which FLIP does not judge), so that they keep their quality while the colour is finished."""


@dataclass(frozen=True)
class Snapshot:
    """What the trainer publishes: immutable, numpy and scalars only, safe to hand to another thread."""

    step: int
    loss: float
    psnr: float  # of the last batch (all mip levels mixed), from its loss
    elapsed: float  # seconds spent training
    steps_per_s: float
    lr: float
    progress: float  # fraction of the budget used, in [0, 1]
    weights: dict[str, np.ndarray]
    events: tuple[str, ...] = ()
    done: bool = False


MAX_PARAMETERS = 50_000_000
"""Far beyond any texture model worth its bits (a 4096^2 RGB texture at 8 bpp is 134M bits): a larger one is a typo."""


def check_model_size(config: Config) -> None:
    """Refuse absurd sizes before allocating them (counted on torch's meta device: no memory used)."""
    n = config_bits(config.model, 32) // 32
    if n > MAX_PARAMETERS:
        raise TexinrError(f"the model would have {n:,} parameters; at most {MAX_PARAMETERS:,} are allowed")


BALANCE_RANGE = 8.0
"""--balance variance: channel weights stay within [1 / 8, 8] x their mean (a constant channel has no variance)."""


def channel_weights(values: np.ndarray, config: Config) -> torch.Tensor | None:
    """Per-channel weights of a material's squared error under --balance variance: 1 / variance, clamped to
    BALANCE_RANGE around their geometric mean, normalised to mean 1 (None: plain MSE)."""
    if config.train.balance != "variance" or not is_material(parse_layout(config.model.channels)):
        return None
    var = values.reshape(-1, values.shape[-1]).astype(np.float64).var(axis=0)
    w = 1.0 / np.maximum(var, 1e-12)
    centre = np.exp(np.mean(np.log(w)))
    w = np.clip(w, centre / BALANCE_RANGE, centre * BALANCE_RANGE)
    w = w / w.mean()
    return torch.tensor(w, dtype=torch.float32, device=resolve_device(config.train.device))


def set_threads(threads: int) -> int:
    n = threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


class Trainer:
    """Fits `config.model` to `rgb01` (H, W, C) in [0, 1] under `config.train` (C: the model's outputs, 3 for one
    texture, a material set's channels: trainer/core/channels.py)."""

    def __init__(self, rgb01: np.ndarray, config: Config, samples: TextureSamples | None = None):
        """`samples`: another trainer's sample table of the same image, shared when it fits this config (a race's
        candidates share one: at 4096^2 with mips it is about 0.9 GB)."""
        config = resolve(config.validate(), rgb01.shape[1], rgb01.shape[0])  # sized to config.bpp, if it has one
        if rgb01.ndim != 3 or rgb01.shape[2] != config.model.outputs:
            raise TexinrError(
                f"the image has {rgb01.shape[2] if rgb01.ndim == 3 else 1} channels; the layout "
                f"{config.model.channels!r} has {config.model.outputs}"
            )
        self.config = config
        check_model_size(config)
        memory.keep_small_allocations()
        tc = config.train
        self.threads = set_threads(tc.threads)
        self.device = resolve_device(tc.device)
        self.device_name = describe_device(self.device)
        shared = samples is not None and samples.fits(rgb01, tc.mips, self.device)
        memory.check(rgb01.shape[1], rgb01.shape[0], [config], self.device, with_samples=not shared)
        if shared:
            self.samples = samples
        else:
            with phase(f"sample table ({tc.mips} level{'s' if tc.mips > 1 else ''})"):
                self.samples = TextureSamples(rgb01, tc.mips, self.device)
        # initialised on the CPU from the seed, then moved: every device starts from the same weights
        self.model = build_model(config.model, tc.seed, config.bits).to(self.device)
        family = families.get(config.model.arch)
        self.base_lr = tc.lr if tc.lr is not None else family.lr
        self.batch = tc.batch if tc.batch is not None else family.default_batch
        ff = tc.flip_finish
        self.flip_finish = ff if ff is not None else family.flip_finish
        self.colour = colour_map(parse_layout(config.model.channels))  # what the FLIP finish judges
        if self.colour is None:
            self.flip_finish = 0.0
        else:  # a material's other maps, which the FLIP finish holds by their squared error
            c = self.colour
            rest = [i for i in range(config.model.outputs) if not c.start <= i < c.stop]
            self._rest = torch.tensor(rest, dtype=torch.long, device=self.device) if rest else None
        self.channel_weights = channel_weights(self.samples.pyramid[0], config)  # None: all alike
        self.in_flip_finish = False
        self.lr_factor = 1.0
        self.optimizer = self._make_optimizer()
        self.generator = torch.Generator(device=self.device).manual_seed(tc.seed)
        self.step_count = 0
        self.elapsed = 0.0
        self._schedule_start = (0, 0.0)  # (steps, seconds) where the current schedule began (extend)
        self.loss = math.nan
        self.events: list[str] = []
        self._new_events: list[str] = []
        self._flops = self.model.flops_per_sample()
        values = 3 * sum(p.numel() for p in self.model.parameters())  # the weights and Adam's two moments
        self._good_every = max(GOOD_EVERY, math.ceil(values / GOOD_VALUES_PER_STEP))
        self._good = self._copy_state()
        self._rate_mark = (0, 0.0)
        self._steps_per_s = 0.0
        self.history: list[tuple[int, float, float]] = []  # (step, elapsed, loss) at each snapshot

    # -- optimisation ---------------------------------------------------------------------------------------
    def _make_optimizer(self):
        """Adam (the latent tables of grid families row by row: trainer/core/sparse.py), or Rprop (whole gradients)."""
        encoding = self.model.encoding
        rows = isinstance(encoding, RowTables) and self.config.train.optimizer == "adam"
        if not rows and isinstance(encoding, RowTables):
            encoding.detach_row_grads()
        if self.config.train.optimizer == "rprop":
            return torch.optim.Rprop(self.model.parameters(), lr=self.base_lr)
        fused = self.device.type in ("cpu", "cuda")  # one kernel per step where torch has it
        betas, eps = (0.9, 0.99), 1e-15
        if not rows:
            return torch.optim.Adam(self.model.parameters(), lr=self.base_lr, betas=betas, eps=eps, fused=fused)
        sinks = encoding.attach_row_grads(self.batch)
        if not sinks:  # every table small enough to be trained whole
            return torch.optim.Adam(self.model.parameters(), lr=self.base_lr, betas=betas, eps=eps, fused=fused)
        tables = {id(s.table) for s in sinks}
        dense = [p for p in self.model.parameters() if id(p) not in tables]
        return Adams(
            torch.optim.Adam(dense, lr=self.base_lr, betas=betas, eps=eps, fused=fused),
            RowAdam(sinks, lr=self.base_lr, betas=betas, eps=eps),
        )

    def _copy_state(self):
        return (self.step_count, copy.deepcopy(self.model.state_dict()), copy.deepcopy(self.optimizer.state_dict()))

    @property
    def progress(self) -> float:
        """Fraction of the current schedule's budget used, in [0, 1] (a schedule starts with the run, or at
        `extend`)."""
        tc = self.config.train
        step0, elapsed0 = self._schedule_start
        if tc.steps is not None:
            return 1.0 if tc.steps == 0 else min(1.0, (self.step_count - step0) / tc.steps)
        return 1.0 if not tc.seconds else min(1.0, (self.elapsed - elapsed0) / tc.seconds)

    def extend(self) -> None:
        """Train longer: a new schedule of the same budget from the current weights, as a run of its own would
        go (the learning rate from the top of its schedule, fresh optimizer moments, its own FLIP finish)."""
        self._schedule_start = (self.step_count, self.elapsed)
        self.in_flip_finish = False
        self.optimizer = self._make_optimizer()
        self._good = self._copy_state()

    @property
    def pending_events(self) -> bool:
        """Whether events happened that no snapshot has reported yet."""
        return bool(self._new_events)

    @property
    def done(self) -> bool:
        return self.progress >= 1.0

    def current_lr(self) -> float:
        p, sched = self.progress, self.config.train.schedule
        if sched == "cosine":
            scale = 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p))
        elif sched == "exponential":
            scale = 0.1**p
        else:
            scale = 1.0
        return self.base_lr * self.lr_factor * scale * (FLIP_LR_SCALE if self.in_flip_finish else 1.0)

    def set_lr(self, lr: float) -> None:
        """Change the base learning rate now (the schedule and any divergence drops still apply)."""
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.base_lr = lr

    def step(self) -> float:
        """One optimizer step; returns its loss (the diverged loss, if it diverged and was rolled back).
        Running out of device memory raises TexinrError (the weights of the last good step are kept)."""
        try:
            return self._step()
        except Exception as e:
            if not is_out_of_memory(e):
                raise
            self.model.load_state_dict(self._good[1])
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            raise TexinrError(
                f"out of memory on {self.device} at step {self.step_count} (batch {self.batch}): "
                "give a smaller --batch, a smaller texture, or --device cpu"
            ) from None

    def _step(self) -> float:
        t0 = time.perf_counter()
        tc = self.config.train
        if not self.in_flip_finish and self.flip_finish > 0 and self.progress >= 1.0 - self.flip_finish:
            self._start_flip_finish()
        lr = self.current_lr()
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        if self.in_flip_finish:
            with part("FLIP finish: patches, forward"):
                loss, mse = self._flip_loss()
            value = float(mse) if math.isfinite(float(loss.detach())) else math.nan
        else:
            with part("sampling"):
                uv01, t, rgb = self.samples.batch(self.batch, self.generator, tc.jitter)
            with part("latent lookups"):
                x = self.model.features(uv01, t)
            with part("decoder"):
                d2 = (self.model.mlp(x) - rgb) ** 2
                loss = torch.mean(d2) if self.channel_weights is None else torch.mean(d2 * self.channel_weights)
                value = float(loss.detach())
        if not math.isfinite(value) or value > DIVERGED_LOSS:
            self._recover(value)
        else:
            with part("backward"):
                loss.backward()
            with part("optimizer"):
                self.optimizer.step()
            self.step_count += 1
            self.loss = value
            count_step(self.batch, self._flops)
            if self.step_count % self._good_every == 0:
                with part("last good state"):
                    self._good = self._copy_state()
        self.elapsed += time.perf_counter() - t0
        return value

    def _start_flip_finish(self) -> None:
        self.in_flip_finish = True
        self._level_pixels = torch.tensor(
            [float(lv.image.shape[0] * lv.image.shape[1]) for lv in self.samples.levels], device=self.device
        )
        self.optimizer = self._make_optimizer()
        self._good = self._copy_state()
        msg = (
            f"step {self.step_count}: finishing on LDR-FLIP over {FLIP_PATCH}px patches "
            f"(last {self.flip_finish:.0%} of the budget, learning rate x{FLIP_LR_SCALE})"
        )
        self.events.append(msg)
        self._new_events.append(msg)

    def _flip_loss(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean LDR-FLIP of random patches of one mip level (chosen by its share of the pixels), and their MSE."""
        k = int(torch.multinomial(self._level_pixels, 1, generator=self.generator))
        level = self.samples.levels[k]
        h, w = level.image.shape[:2]
        ph, pw = min(FLIP_PATCH, h), min(FLIP_PATCH, w)
        n = max(1, self.batch // (ph * pw))
        dev = self.device
        x0 = torch.randint(0, w, (n, 1, 1), generator=self.generator, device=dev)
        y0 = torch.randint(0, h, (n, 1, 1), generator=self.generator, device=dev)
        xs = ((x0 + torch.arange(pw, device=dev).view(1, 1, pw)) % w).expand(n, ph, pw)  # patches wrap (GL_REPEAT)
        ys = ((y0 + torch.arange(ph, device=dev).view(1, ph, 1)) % h).expand(n, ph, pw)
        uv01 = torch.stack([(xs + 0.5) / w, 1.0 - (ys + 0.5) / h], -1).reshape(-1, 2).float()
        out = self.model.forward_raw(uv01, torch.full((uv01.shape[0], 1), level.t, device=dev))
        out = out.reshape(n, ph, pw, -1).permute(0, 3, 1, 2)
        ref = level.image[ys, xs].permute(0, 3, 1, 2)
        c = self.colour
        loss = flip_map(ref[:, c.start : c.stop], out[:, c.start : c.stop].clamp(0.0, 1.0), eps=FLIP_EPS).mean()
        if self._rest is not None:  # a material's other maps: their squared error
            keep = self._rest
            d2 = (out[:, keep] - ref[:, keep]) ** 2
            if self.channel_weights is not None:
                d2 = d2 * self.channel_weights[keep].view(1, -1, 1, 1)
            loss = loss + FLIP_REST_WEIGHT * torch.mean(d2)
        return loss, torch.mean((out.detach() - ref) ** 2)

    def _recover(self, value: float) -> None:
        good_step, model_state, opt_state = self._good
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(opt_state)
        self.lr_factor *= LR_DROP
        msg = (
            f"step {self.step_count}: loss {value:.3g} diverged; restored the weights of step {good_step}, "
            f"learning rate x{LR_DROP} -> {self.current_lr():.3g}"
        )
        self.step_count = good_step
        self.events.append(msg)
        self._new_events.append(msg)

    # -- publishing -----------------------------------------------------------------------------------------
    def weights(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}

    def snapshot(self, with_weights: bool = True) -> Snapshot:
        s0, e0 = self._rate_mark
        if self.elapsed - e0 > 0.25:
            self._steps_per_s = (self.step_count - s0) / (self.elapsed - e0)
            self._rate_mark = (self.step_count, self.elapsed)
        events, self._new_events = tuple(self._new_events), []
        return Snapshot(
            step=self.step_count,
            loss=self.loss,
            psnr=psnr_from_mse(self.loss) if math.isfinite(self.loss) else 0.0,
            elapsed=self.elapsed,
            steps_per_s=self._steps_per_s,
            lr=self.current_lr(),
            progress=self.progress,
            weights=self.weights() if with_weights else {},
            events=events,
            done=self.done,
        )

    def run(
        self,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        cancel: threading.Event | None = None,
        every: int | None = None,
        with_weights: bool = True,
    ) -> Snapshot:
        """Step until the budget is spent or `cancel` is set; call on_snapshot every `every` steps
        (default: snapshot_every) and after any divergence event."""
        every = every or self.config.train.snapshot_every
        while not self.done and not (cancel is not None and cancel.is_set()):
            self.step()
            if self.step_count % every == 0 or self.pending_events:
                self.history.append((self.step_count, self.elapsed, self.loss))
                if on_snapshot is not None:
                    on_snapshot(self.snapshot(with_weights))
        final = self.snapshot(with_weights)
        if on_snapshot is not None:
            on_snapshot(final)
        return final


@torch.no_grad()
def render(model: TextureField, height: int, width: int, t: float = 0.0, chunk: int = 1 << 17) -> np.ndarray:
    """Evaluate the model at the pixel centres of an height x width image at level of detail t: (H, W, outputs),
    on the model's device, chunk by chunk, into a CPU array."""
    dev = next(model.parameters()).device
    uv = torch.from_numpy(pixel_centres_uv01(height, width))
    out = torch.empty(uv.shape[0], model.cfg.outputs)
    for i in range(0, uv.shape[0], chunk):
        u = uv[i : i + chunk].to(dev)
        out[i : i + chunk] = model(u, torch.full((u.shape[0], 1), float(t), device=dev)).cpu()
    return out.reshape(height, width, -1).numpy()


def train_record(trainer, config: Config, allocation: dict | None, texture: str, tuned=None) -> dict:
    """How a model was trained, as its `.texinr` header keeps it (`train`)."""
    return {
        **config.train.to_dict(),
        "allocation": allocation,
        "tuned": None if tuned is None else {"field": tuned.field, "value": tuned.value, "tried": tuned.tried},
        "steps_done": trainer.step_count,
        "seconds_done": round(trainer.elapsed, 3),
        "threads": trainer.threads,
        "device_used": describe_device(trainer.device),
        "events": trainer.events,
        "texture": texture,
        "mips_fitted": trainer.samples.mips,
    }
