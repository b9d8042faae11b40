import pytest

from texinr.viewer.render.shader_lib import ShaderError, active_requirements, build_source, expand


def test_includes_are_expanded_and_defines_injected_after_version():
    packed = _relu_packed()
    src = build_source("uv_grid.glsl", "FRAGMENT_SHADER", packed.defines, packed.glsl)
    lines = src.splitlines()
    assert lines[0].startswith("#version 330")
    assert "#define FAMILY_RELU 1" in lines and "#define FRAGMENT_SHADER 1" in lines
    assert "vec3 neural_rgb(vec2 uv, float t)" in src  # from include/network.glsl
    assert "void mlp_unrolled()" in src  # generated for this network (its weights written in)
    assert "#include" not in src and "#pragma texinr" not in src


def test_generated_code_is_needed_only_where_the_preprocessor_keeps_its_include():
    packed = _relu_packed()
    with pytest.raises(ShaderError, match=r"uv_grid\.glsl needs generated source 'mlp'"):
        build_source("uv_grid.glsl", "FRAGMENT_SHADER", packed.defines, {})
    # the codec's include sits in a branch a ReLU MLP does not take: no code needed for it
    src = build_source("uv_grid.glsl", "FRAGMENT_SHADER", packed.defines, {"mlp": packed.glsl["mlp"]})
    assert "void codec_encode(" not in src
    # a network too wide to write out reads its weights from the texture: nothing generated
    wide = _relu_packed(width=80)
    assert wide.defines["MLP_UNROLLED"] == 0 and wide.glsl["mlp"] == ""
    build_source("uv_grid.glsl", "FRAGMENT_SHADER", wide.defines, {})


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


def test_program_cache_builds_once_per_network_and_keeps_a_bounded_number(gl):
    from texinr.viewer.render.shader_lib import NETWORK_PROGRAMS_KEPT, ProgramCache

    programs = ProgramCache(gl)
    a = _relu_packed(width=12, seed=0)
    prog = programs.get("uv_grid.glsl", a.defines, a.glsl)
    assert programs.get("uv_grid.glsl", a.defines, a.glsl) is prog  # the same weights: cached
    b = _relu_packed(width=12, seed=1)
    assert b.defines == a.defines and b.glsl != a.glsl
    assert programs.get("uv_grid.glsl", b.defines, b.glsl) is not prog  # new weights written in: a new program
    for seed in range(2, NETWORK_PROGRAMS_KEPT + 4):  # a training run's stream of weights
        p = _relu_packed(width=12, seed=seed)
        programs.get("uv_grid.glsl", p.defines, p.glsl)
    assert len(programs) == NETWORK_PROGRAMS_KEPT  # the oldest were released
    assert programs.get("uv_grid.glsl", a.defines, a.glsl) is not prog

    # a network read from the texture: one program per architecture, whatever the weights
    programs = ProgramCache(gl)
    wide = programs.get("uv_grid.glsl", _relu_packed(width=80, seed=0).defines, {})
    assert programs.get("uv_grid.glsl", _relu_packed(width=80, seed=1).defines, {}) is wide
    assert len(programs) == 1


def test_driver_compile_errors_become_shader_errors(gl, programs):
    d = _relu_defines()
    d["MLP_IN4"] = "not_a_number"
    with pytest.raises(ShaderError, match="compile failed"):
        programs.get("uv_grid.glsl", d, _relu_packed().glsl)


def _relu_packed(width: int = 20, seed: int = 0):
    from tests.shaders.test_parity import textured_model
    from texinr.trainer.core.packing import pack

    m = textured_model("relu", False, width=width, seed=seed)
    return pack(m.cfg.to_dict(), {k: v.detach().numpy() for k, v in m.state_dict().items()})


def _relu_defines() -> dict:
    return dict(_relu_packed().defines)
