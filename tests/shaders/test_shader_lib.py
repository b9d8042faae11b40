import pytest

from viewer.shader_lib import ShaderError, active_requirements, build_source, expand


def test_includes_are_expanded_and_defines_injected_after_version():
    src = build_source("uv_grid.glsl", "FRAGMENT_SHADER", _relu_defines())
    lines = src.splitlines()
    assert lines[0].startswith("#version 330")
    assert "#define FAMILY_RELU 1" in lines and "#define FRAGMENT_SHADER 1" in lines
    assert "vec3 neural_rgb(vec2 uv, float t)" in src  # from include/network.glsl
    assert "#include" not in src and "#pragma texinr" not in src


def test_a_missing_define_is_an_error_naming_it():
    d = _relu_defines()
    del d["MLP_HIDDEN4"]
    with pytest.raises(ShaderError, match=r"uv_grid\.glsl needs define MLP_HIDDEN4"):
        build_source("uv_grid.glsl", "FRAGMENT_SHADER", d)


def test_requirements_of_branches_not_taken_do_not_count():
    text = expand("include/network.glsl")
    relu = active_requirements(text, _relu_defines())
    assert "HASH_LEVELS" not in relu and "MLP_HIDDEN4" in relu
    grid_defines = {k: v for k, v in _relu_defines().items() if k != "FAMILY_RELU"} | {"FAMILY_GRID": 1}
    grid = active_requirements(text, grid_defines)
    assert "GRID_RES" in grid


def test_missing_file_is_an_error():
    with pytest.raises(ShaderError, match="cannot find"):
        expand("nope.glsl")


def test_program_cache_compiles_once_per_architecture(gl, programs):
    from tests.shaders.test_parity import textured_model
    from trainer.packing import pack

    def packed(width):
        m = textured_model("relu", False, width=width)
        return pack(m.cfg.to_dict(), {k: v.detach().numpy() for k, v in m.state_dict().items()})

    before = len(programs)
    a = programs.get("uv_grid.glsl", packed(12).defines)
    assert programs.get("uv_grid.glsl", packed(12).defines) is a  # same architecture, new weights: cached
    assert programs.get("uv_grid.glsl", packed(16).defines) is not a
    assert len(programs) == before + 2


def test_driver_compile_errors_become_shader_errors(gl, programs):
    d = _relu_defines()
    d["MLP_IN4"] = "not_a_number"
    with pytest.raises(ShaderError, match="compile failed"):
        programs.get("uv_grid.glsl", d)


def _relu_defines() -> dict:
    from tests.shaders.test_parity import textured_model
    from trainer.packing import pack

    m = textured_model("relu", False)
    return dict(pack(m.cfg.to_dict(), {k: v.detach().numpy() for k, v in m.state_dict().items()}).defines)
