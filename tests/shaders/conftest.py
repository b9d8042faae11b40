import pytest


@pytest.fixture(scope="session")
def gl():
    """A standalone EGL context (Mesa's llvmpipe here); skip where no EGL driver exists."""
    from texinr.trainer.core.errors import TexinrError
    from texinr.viewer.render.render import create_context

    try:
        ctx = create_context()
    except TexinrError as e:
        pytest.skip(str(e))
    yield ctx
    ctx.release()


@pytest.fixture(scope="session")
def programs(gl):
    from texinr.viewer.render.shader_lib import ProgramCache

    return ProgramCache(gl)
