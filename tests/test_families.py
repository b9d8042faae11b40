"""The family registry: one entry is all a family needs to be offered, sized, trained and saved."""

from __future__ import annotations

import pytest

from tests.conftest import random_image
from tests.viewer.test_panels import RecordingImgui, frame, state  # noqa: F401  (frame: the ImGui fixture)
from texinr.trainer.cli.train import train_parser
from texinr.trainer.core import families, packing
from texinr.trainer.core.config import Config, TrainConfig, model_preset
from texinr.trainer.core.encodings import PmOne
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.modelfile import decode, encode, pack
from texinr.trainer.core.sizing import config_bits, resolve, size_width
from texinr.trainer.core.train import Trainer
from texinr.viewer.gui import panels


@pytest.fixture
def toy():
    """A family that exists only inside this test: an MLP on plain coordinates, sized by its width."""
    family = families.register(
        families.Family(
            name="toy",
            label="toy field",
            preset={"width": 8, "depth": 1},
            lr=2e-3,
            encoding=lambda cfg: PmOne(),
            size=size_width,
            feature_width=lambda cfg: 2,
            describe=lambda m: f"toy {m.width}",
        )
    )
    yield family
    families.unregister("toy")


def test_a_registered_family_is_offered_everywhere(toy, frame, monkeypatch):  # noqa: F811
    # the command line: a choice of --arch, listed in the help, parsed into a config
    assert "toy" in train_parser().format_help()
    a = train_parser().parse_args(["x.png", "-o", "m.texinr", "--arch", "toy", "--steps", "3"])
    assert a.arch == "toy"
    # the panel: the family combo lists its label, and the sizes line is its own
    ui = RecordingImgui(panels.imgui)
    monkeypatch.setattr(panels, "imgui", ui)
    s = state()
    panels.draw_network_panel(s, lambda cmd: None)
    assert "toy field" in ui.seen
    assert panels.size_summary(model_preset("toy")) == "toy 8"
    # sizing: its own rule lands on the rate
    cfg = resolve(Config(model_preset("toy"), TrainConfig(mips=1, steps=3), 16, 4.0), 64, 64)
    assert cfg.model.arch == "toy" and abs(config_bits(cfg.model, 16) / (64 * 64) - 4.0) < 0.2


def test_a_registered_family_trains_saves_and_reads_back(toy):
    cfg = Config(model_preset("toy", width=16), TrainConfig(mips=1, steps=5, lr=None), 16, None)
    trainer = Trainer(random_image(16, 16), cfg)
    snap = trainer.run()
    assert snap.step == 5 and trainer.base_lr == 2e-3 and trainer.batch == families.DEFAULT_BATCH
    f = decode(encode(pack(trainer.model, 16, 16, 16, 1)))
    assert f.model_config.arch == "toy"
    with pytest.raises(TexinrError, match="no GPU path"):  # no shader block: said, not a crash
        packing.pack(f.model_config.to_dict(), {k: v.numpy() for k, v in f.state_dict().items()})


def test_unknown_and_duplicate_families_are_refused(toy):
    with pytest.raises(TexinrError, match="unknown family 'nope'; choose one of .*toy"):
        model_preset("nope")
    with pytest.raises(ValueError, match="registered already"):
        families.register(toy)
    with pytest.raises(ValueError, match="packing id 5 is taken"):
        families.register(
            families.Family(
                "toy2",
                "t",
                {},
                1e-3,
                toy.encoding,
                size_width,
                packing_id=5,
                feature_width=packing.coordinates_width,
                pack_features=packing.pack_coordinates,
            )
        )
    with pytest.raises(ValueError, match="needs pack_features"):
        families.Family("toy3", "t", {}, 1e-3, toy.encoding, size_width, toy.feature_width, packing_id=9)
    assert "toy" in families.names()


def test_the_built_in_families_are_registered_in_order():
    assert families.names()[:6] == ("relu", "siren", "fourier", "hashgrid", "grid", "codec")
    assert families.get("codec").allocations and families.get("siren").activation == "sine"
