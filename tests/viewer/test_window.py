"""The real window under Xvfb: train, change a hyperparameter through the panel's command path, switch views,
take screenshots and check them. Skips where neither a display nor Xvfb exists (CI installs Xvfb)."""

import os
import select
import shutil
import subprocess
import sys

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
    read_fd, write_fd = os.pipe()  # Xvfb picks a free display and writes its number here once it is ready
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    ready, _, _ = select.select([read_fd], [], [], 30.0)
    number = os.read(read_fd, 32).decode().strip() if ready else ""
    os.close(read_fd)
    if not number:
        proc.kill()
        pytest.fail("Xvfb did not start within 30 s")
    os.environ["DISPLAY"] = f":{number}"
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
