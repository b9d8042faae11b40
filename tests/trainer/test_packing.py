import numpy as np
import pytest

from texinr.trainer.core import encodings, packing
from texinr.trainer.core.config import model_preset
from texinr.trainer.core.families import names as family_names
from texinr.trainer.core.models import build_model


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


@pytest.mark.parametrize("arch", family_names())
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


def test_large_layouts_stay_within_gl_limits():
    """At 4096^2 and several bpp the weights texture would be thousands of rows 1,024 texels wide and the code
    atlas one tall column of shelves: both grow towards squares instead, and fits_gl names what does not fit."""
    tex = packing._Texels()
    tex.add(np.ones((3000 * 1024, 4), np.float32))
    img = tex.image()
    assert img.shape == (1500, 2048, 4) and img.reshape(-1, 4)[: 3000 * 1024].min() == 1.0
    small = packing._Texels()
    small.add(np.ones((5, 4), np.float32))
    assert small.image().shape == (1, packing.WEIGHTS_TEX_WIDTH, 4)
    # a 4096^2 codec's grids at 2 bpp: 4096x1, 2048x2, 1024x2x4 bits, 256x10 (3 tiles): vertices are res + 1
    grids = [(4097, 1), (2049, 2), (1025, 2), (257, 10)]
    tiles = [(np.zeros((n, n, c), np.float16), p) for n, c in grids for p in range((c + 3) // 4)]
    atlas, origins = packing._atlas(tiles)
    h, w = atlas.shape[:2]
    assert atlas.dtype == np.float16 and max(h, w) < 6200 and max(h, w) / min(h, w) < 1.5
    for (x, y), (codes, _) in zip(origins, tiles, strict=True):  # inside the atlas, never overlapping
        assert x + codes.shape[1] <= w and y + codes.shape[0] <= h
    boxes = [(x, y, x + c.shape[1], y + c.shape[0]) for (x, y), (c, _) in zip(origins, tiles, strict=True)]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]  # a texel of zeros between tiles
    packed = packing.PackedWeights({}, img, atlas)
    assert packing.fits_gl(packed, 16384) is None
    why = packing.fits_gl(packed, 4096)
    assert why is not None and "code atlas" in why and f"{w}x{h}" in why and "4096" in why
