import numpy as np
import pytest

from texinr.trainer import encodings, packing
from texinr.trainer.config import ARCHS, model_preset
from texinr.trainer.models import build_model


def test_level_resolutions_agree_with_the_trainer():
    for args in [(16, 16, 512), (3, 32, 128), (1, 8, 8), (7, 5, 1000)]:
        assert packing.level_resolutions(*args) == encodings.level_resolutions(*args)
    np.testing.assert_array_equal(packing.log_bands(9, 256.0), encodings.log_bands(9, 256.0))


def test_matrix_blocks_hold_columns():
    w = np.arange(6 * 5, dtype=np.float32).reshape(6, 5)  # out 6, in 5 -> 2 x 2 blocks
    t = packing._mat_blocks(w, 2, 2)
    assert t.shape == (2 * 2 * 4, 4)
    np.testing.assert_array_equal(t[0], w[0:4, 0])  # block (0, 0), column 0
    np.testing.assert_array_equal(t[4 + 0], [w[0, 4], w[1, 4], w[2, 4], w[3, 4]])  # block (0, 1), column 0
    np.testing.assert_array_equal(t[4 + 1], [0, 0, 0, 0])  # padding input column
    np.testing.assert_array_equal(t[8], [w[4, 0], w[5, 0], 0, 0])  # block (1, 0): padded outputs


@pytest.mark.parametrize("arch", ARCHS)
def test_pack_layout_fits_and_defines_are_complete(arch):
    m = build_model(
        model_preset(arch, lod=True, width=20, hash_table_log2=10, hash_levels=4, codec_grids="32x3x2,8x5x4")
    )
    p = packing.pack(m.cfg.to_dict(), {k: v.detach().numpy() for k, v in m.state_dict().items()})
    assert p.data.dtype == np.float32 and p.data.shape[1:] == (packing.WEIGHTS_TEX_WIDTH, 4)
    assert p.defines["N_IN"] == m.encoding.out_dim + 1
    assert p.defines["MLP_HIDDEN4"] == 5
    flat = p.data.reshape(-1, 4)
    # the output bias sits where the define says
    np.testing.assert_array_equal(flat[p.defines["MLP_BOUT_OFFSET"], :3], m.mlp.out.bias.detach().numpy())
    if arch == "codec":  # latent codes (0 is a valid code) sit in the atlas at their tiles' origins
        xs, ys = (packing._parse_array(p.defines[k]) for k in ("CODEC_TILE_X", "CODEC_TILE_Y"))
        tile = 0
        for lvl in range(len(m.encoding.levels)):
            codes = m.encoding.tables[lvl].detach()  # (res + 1, res + 1, C): vertex (i, j) at [j, i]
            bits = m.encoding.levels[lvl][2]
            expect = encodings.latent_codes(codes, bits).numpy()
            n = expect.shape[0]
            for part in range((expect.shape[2] + 3) // 4):  # 5 channels: 2 tiles
                x0, y0 = int(xs[tile]), int(ys[tile])
                got = p.latents[y0 : y0 + n, x0 : x0 + n, : min(4, expect.shape[2] - 4 * part)]
                np.testing.assert_array_equal(got, expect[..., 4 * part : 4 * part + 4])
                tile += 1
            assert expect.min() >= 0 and expect.max() <= (1 << bits) - 1 and len(np.unique(expect)) > 1
        return
    used = sum(np.count_nonzero(v.detach().numpy()) for v in m.parameters())
    assert np.count_nonzero(flat) >= used * 0.99  # nothing learned is dropped
