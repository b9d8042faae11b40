"""The real window under Xvfb: train, change a hyperparameter through the panel's command path, switch views,
take screenshots and check them. Skips where neither a display nor Xvfb exists (CI installs Xvfb)."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def display():
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("no display and no Xvfb (apt-get install xvfb)")
    num = 90 + os.getpid() % 9
    proc = subprocess.Popen(
        [xvfb, f":{num}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    os.environ["DISPLAY"] = f":{num}"
    try:
        yield os.environ["DISPLAY"]
    finally:
        del os.environ["DISPLAY"]
        proc.terminate()
        proc.wait(10)


def test_window_trains_changes_views_and_screenshots(display, tmp_path):
    """Opens the real window on a real mesh, trains a few hundred steps, applies a new width through the panel's
    command path, switches views, takes screenshots with and without the panel, feeds it a bad mesh, resizes it
    to 1x1 and minimises it (tests/viewer/window_scenario.py)."""
    r = subprocess.run(
        [sys.executable, "-m", "tests.viewer.window_scenario", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "DISPLAY": display, "XDG_CONFIG_HOME": str(tmp_path / "config")},
    )
    assert r.returncode == 0 and "window scenario OK" in r.stdout, r.stdout[-2000:] + r.stderr[-4000:]
    assert len(list(tmp_path.glob("texinr-*.png"))) == 2
    assert (tmp_path / "config" / "texinr" / "imgui.ini").exists()  # the layout is remembered ...
    assert (tmp_path / "config" / "texinr" / "window.json").exists()  # ... and the window size
