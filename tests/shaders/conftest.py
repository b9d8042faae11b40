import pytest


@pytest.fixture(scope="session")
def gl():
    """A standalone EGL context (Mesa's llvmpipe here); skip where no EGL driver exists."""
    from texinr.trainer.errors import TexinrError
    from texinr.viewer.render import create_context

    try:
        ctx = create_context()
    except TexinrError as e:
        pytest.skip(str(e))
    yield ctx
    ctx.release()


@pytest.fixture(scope="session")
def programs(gl):
    from texinr.viewer.shader_lib import ProgramCache

    return ProgramCache(gl)
