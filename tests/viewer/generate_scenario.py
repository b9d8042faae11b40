"""The Generate panel in the real window, run by test_window.py in its own process: open a space, move
between two textures with the slider's command, sample a new one, save what is shown and check that the screen is
that file, and refuse a file that is not a space with a message while the screen stays."""

import json
import sys
from pathlib import Path

import numpy as np

from tests.viewer.window_scenario import run_for


def scenario(space: Path, tmp_path: Path) -> None:
    from texinr.viewer.app import parse_view
    from texinr.viewer.render.render import BACKGROUND, OffscreenTarget
    from texinr.viewer.scene import packed_from_file
    from texinr.viewer.window import App
    from texinr.viewer.workers.generate_worker import CropEnd, Mix, SampleEnd

    app = App(parse_view(["--space", str(space), "--yaw", "30"]), size=(640, 400), screenshot_dir=tmp_path)

    def shown(**want) -> bool:
        g = app.state.generate
        return (
            g is not None
            and g.info is not None
            and all(getattr(g, k) == v for k, v in want.items())
            and app.shown_version == ("generated", g.version)
            and not app.scene_dirty
            and not app.weights_dirty
        )

    def send(command) -> None:  # what the panel's buttons and slider do
        app.state.requests.append(("generate", command))

    try:
        assert app.worker is None, "a space shows generated textures: no training"
        run_for(app, until=lambda: shown(t=0.0))
        info = app.state.generate.info
        latent = json.loads((space / "summary.json").read_text())["fit"]["functa"]["latent"]
        assert info.has_prior and info.latent == latent and app.state.generate.ends[0] == "sample (seed 0)"
        a = app.target.read().astype(int)
        bg = np.round(np.array(BACKGROUND[:3]) * 255).astype(int)
        mesh = np.abs(a - bg).sum(axis=2) > 3
        assert mesh.mean() > 0.01 and a[mesh].std() > 2, "the generated texture is on the mesh"

        send(Mix(1.0))
        run_for(app, until=lambda: shown(t=1.0))
        b = app.target.read().astype(int)
        send(Mix(0.5))
        run_for(app, until=lambda: shown(t=0.5))
        half = app.target.read().astype(int)
        assert np.abs(a - b)[mesh].mean() > 1 and np.abs(half - a)[mesh].mean() > 0.3
        assert np.abs(half - b)[mesh].mean() > 0.3

        send(SampleEnd(0, 7, 20, 0.0))
        run_for(app, until=lambda: shown(t=0.0, ends=("sample (seed 7)", "sample (seed 1)")))
        send(CropEnd(1, 2))
        run_for(app, until=lambda: shown(t=1.0, ends=("sample (seed 7)", "crop 2")))
        crop_b = app.target.read().astype(int)
        app.state.requests.append(("encode_texture", 1))  # the panel's "Encode the texture into B"
        texture = Path(app.state.texture_name).name
        run_for(app, until=lambda: shown(t=1.0, ends=("sample (seed 7)", f"encoded {texture}")))
        assert any(m.startswith(f"encoded {texture}: ") and m.endswith(" s") for m in app.state.messages)
        assert np.abs(app.target.read().astype(int) - crop_b)[mesh].mean() > 0.3
        send(Mix(0.25))
        run_for(app, until=lambda: shown(t=0.25))
        screen = app.target.read().astype(int)

        # Save model writes the texture on show; drawn from that file it is the screen
        app.state.path_input = str(tmp_path / "generated.texinr")
        app._save_model()
        run_for(app, until=lambda: any(m.startswith("saved") for m in app.state.messages))
        packed, levels, _ = packed_from_file(tmp_path / "generated.texinr")
        target = OffscreenTarget(app.ctx)
        try:
            app.renderer.set_network(packed, ("file", "generated"), levels)
            target.draw(app.renderer, app.camera, app.target.fbo.size, app.state.view)
            saved = target.read().astype(int)
        finally:
            target.release()
        off = np.abs(screen - saved).max(axis=2)[mesh]
        assert (off <= 1).mean() >= 0.999, f"{(off > 1).mean():.4%} of mesh pixels differ from the saved file"

        # a file that is not a space: a message, and the space on show stays
        generator = app.generator
        app.open_path(space / "prior.npz")
        run_for(app, until=lambda: any("not a space file" in m for m in app.state.messages))
        run_for(app, until=lambda: app.opening is None)
        assert app.generator is generator and generator.alive()
        send(CropEnd(0, 10_000))
        run_for(app, until=lambda: any("has crops 0 to" in m for m in app.state.messages))
        assert app.generator.alive()

        app.state.requests.append("screenshot")
        run_for(app, seconds=0.5)
        assert list(tmp_path.glob("texinr-*.png")), "the screenshot with the panel"
    finally:
        app.close()


if __name__ == "__main__":
    scenario(Path(sys.argv[1]), Path(sys.argv[2]))
    print("generate scenario OK")
