"""Background quality numbers for the window: PSNR / SSIM / FLIP of the model (at its stored precision) and of
ASTC at the shown block size, and the ASTC image itself. Runs on its own thread so no frame ever waits for it; FLIP
is computed by the torch implementation (gil_free), since flip-evaluator holds Python's GIL for the whole
evaluation and so stalled the window's main thread (a 2 s hold once broke the new-weights latency bound)."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import torch

from texinr.trainer.core import astc
from texinr.trainer.core.astc import DEFAULT_QUALITY, preset_name
from texinr.trainer.core.material import astc_maps, map_metrics
from texinr.trainer.core.metrics import all_metrics, masked_flip, masked_psnr
from texinr.trainer.core.models import build_model
from texinr.trainer.core.train import render
from texinr.viewer.workers.worker import Mailbox


class MetricsWorker:
    def __init__(self, image: np.ndarray, astc_quality: float | None = None, layout: str = "rgb"):
        """`image`: the set's channels in `layout` (one RGB texture, or a material: then every number is per map,
        trainer.core.material.map_metrics, and ASTC compresses each map as a pipeline ships it)."""
        self.image = image
        self.layout = layout
        self.astc_quality = DEFAULT_QUALITY if astc_quality is None else astc_quality
        self.results: Mailbox[dict] = Mailbox()
        self.astc_images: Mailbox[tuple[str, np.ndarray, list | None]] = Mailbox()  # block, image, its mips
        self._requests: queue.Queue = queue.Queue()
        self._astc_cache: dict[str, tuple[np.ndarray | None, dict]] = {}  # block -> (image, metrics)
        self.cost = 0.0  # seconds the last evaluation of the model took (the window spaces requests by it)
        self._thread = threading.Thread(target=self._main, name="texinr-metrics", daemon=True)
        self._stop = threading.Event()

    def start(self) -> MetricsWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._requests.put(None)
        self._thread.join(5.0)

    def request(self, snapshot, astc_block: str, nearest_block: str | None = None) -> None:
        """Newest request wins; older ones still queued are skipped. `nearest_block`: ASTC at the model's bpp."""
        self._requests.put((snapshot, astc_block, nearest_block))

    def set_image(self, image: np.ndarray, layout: str = "rgb") -> None:
        self._requests.put(("image", image, layout))

    def _decode_astc(self, block: str) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """The decoded image and, for one texture, its lower mip levels each coded on its own (the view shows the
        chain that the bits count); a material's maps get GL's mips of the decoded set."""
        if self.layout == "rgb":
            chain = astc.decoded_chain(self.image, block, self.astc_quality)
            return chain[0], chain[1:]
        return astc_maps(self.image, self.layout, block, self.astc_quality)[0], None

    def _metrics(self, out: np.ndarray) -> dict:
        if self.layout == "rgb":
            return all_metrics(self.image, out, gil_free=True)
        return {"maps": map_metrics(self.image, out, self.layout, gil_free=True)}

    def _astc(self, block: str):
        cached = self._astc_cache.get(block)
        if cached is None or cached[0] is None:
            decoded, chain = self._decode_astc(block)
            m = cached[1] if cached is not None else self._metrics(decoded)
            self._astc_cache[block] = (decoded, m)
            self.astc_images.publish((block, decoded, chain))
            for other, (img, om) in self._astc_cache.items():  # one decoded image kept: 200 MB each at 4096^2
                if other != block and img is not None:
                    self._astc_cache[other] = (None, om)
        return self._astc_cache[block]

    def _astc_metrics(self, block: str) -> dict:
        """Metrics of ASTC at `block` without publishing its image (the view shows another block)."""
        if block not in self._astc_cache:
            self._astc_cache[block] = (None, self._metrics(self._decode_astc(block)[0]))
        return self._astc_cache[block][1]

    def _main(self) -> None:
        while not self._stop.is_set():
            req = self._requests.get()
            while True:  # a new image is taken at once, in order; of the metric requests the latest wins
                if req is None:
                    return
                if req and isinstance(req[0], str) and req[0] == "image":
                    self.image, self.layout, self._astc_cache = req[1], req[2], {}
                    req = ()
                if self._requests.empty():
                    break
                req = self._requests.get()
            if not req:
                continue
            snap, block, nearest = req
            try:
                _, astc_m = self._astc(block)
                out = {"astc": astc_m, "astc_block": block, "astc_preset": preset_name(self.astc_quality), "step": None}
                if nearest is not None:
                    out["astc_nearest"], out["nearest_block"] = self._astc_metrics(nearest), nearest
                if snap is not None:
                    started = time.perf_counter()
                    model = build_model(snap.config.model)
                    model.load_state_dict({k: torch.from_numpy(v) for k, v in snap.weights.items()})
                    h, w = self.image.shape[:2]  # snapshot weights are already at their stored precision
                    out["neural"] = self._metrics(render(model.eval(), h, w, 0.0))
                    out["step"] = snap.step
                    self.cost = time.perf_counter() - started
                out["at"] = time.time()
                self.results.publish(out)
            except Exception as e:  # a metric failing must not take the window down
                self.results.publish({"error": f"metrics: {type(e).__name__}: {e}", "at": time.time()})


class ScreenScorer:
    """On-screen numbers for the window, on a thread of its own: each view's frame (neural, ASTC) against the
    reference view's frame on the mesh's pixels (PSNR, and FLIP by the GIL-free torch implementation). The newest
    request wins; `results` holds the last answer, or {"error": ...} when the mesh covers no pixel."""

    def __init__(self):
        self.results: Mailbox[dict] = Mailbox()
        self._requests: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._main, name="texinr-screen-metrics", daemon=True)

    def start(self) -> ScreenScorer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._requests.put(None)
        self._thread.join(5.0)

    def request(self, reference: np.ndarray, frames: dict[str, np.ndarray], mask: np.ndarray, note: str) -> None:
        """uint8 (H, W, 3) frames of one view; `mask`: the mesh's pixels; `note` says how the neural frame was made."""
        self._requests.put((reference, frames, mask, note))

    def _main(self) -> None:
        while True:
            req = self._requests.get()
            while not self._requests.empty():
                req = self._requests.get() if req is not None else req
            if req is None:
                return
            reference, frames, mask, note = req
            try:
                if not mask.any():
                    self.results.publish({"error": "the mesh covers no pixel of this view", "at": time.time()})
                    continue
                ref = reference.astype(np.float32) / 255.0
                out: dict = {"pixels": int(mask.sum()), "note": note, "at": time.time()}
                for name, frame in frames.items():
                    test = frame.astype(np.float32) / 255.0
                    test[~mask] = ref[~mask]
                    out[name] = {
                        "psnr": masked_psnr(ref, test, mask),
                        "flip": masked_flip(ref, test, mask, gil_free=True),
                    }
                self.results.publish(out)
            except Exception as e:  # a metric failing must not take the window down
                self.results.publish({"error": f"screen metrics: {type(e).__name__}: {e}", "at": time.time()})
