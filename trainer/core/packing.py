"""The one place that knows the GPU layout of a model: weights -> a float texture + the shader's #defines.

numpy only (no torch, no GL), so the viewer can pack snapshots on its main thread cheaply.

Everything lives in one RGBA32F texture `t_weights`, addressed by a linear texel index k -> (k % WIDTH, k / WIDTH),
WIDTH (the define WEIGHTS_TEX_WIDTH) = WEIGHTS_TEX_WIDTH texels, or the power of two that keeps the texture square
when it would be taller than wide (GL limits both sides: GL_MAX_TEXTURE_SIZE, 16384 on most GPUs and llvmpipe; see
fits_gl). Sections, each starting at an offset given by a define:
- Fourier features: one texel (fx, fy, 0, 0) per frequency row (log bands are written out too).
- Hash grid / latent grid: per level, one run of texels per table entry (ceil(F / 4) texels each; features beyond
  F are 0). Latent-grid vertex (i, j) of level l is entry j * (res_l + 1) + i.
- Codec: not in this texture but in a second one, `latents` (PackedWeights.latents, RGBA16F, sampled with bilinear
  filtering): every grid's integer codes q (as half floats: exact up to 2048, and codes have at most 8 bits), 4
  channels per tile, vertex (i, j) at texel (x0 + i, y0 + j) of its tile (origins in CODEC_TILE_X / CODEC_TILE_Y;
  a 'texel' layout grid (CODEC_TEXEL 1) is periodic and its tile repeats its first row and column after the last),
  shelf-packed by _atlas into a near-square image: a 4096^2 codec at 2 bpp is 4.6k x 4.6k texels, 168 MB). The shader
  (codec_encode_glsl) takes one filtered fetch per tile and dequantises v = q * CODEC_DEQ[l] - 1 (affine, so the
  same as interpolating dequantised values).
- MLP: every layer as 4x4 blocks: for output block o, input block i, four texels = the columns of the mat4
  (column c holds W[4o : 4o + 4, 4i + c]); then one texel per output block of bias. The output layer has
  MLP_OUT4 blocks (N_OUT channels: 3 for one texture, a material's set: trainer/core/channels.py). Layer sizes are padded to
  multiples of 4 with zeros, so padding contributes nothing. A small MLP (MLP_UNROLLED) is also written into the
  shader itself, its weights as literals (mlp_glsl): the shader then reads no MLP texel at all.
Values are the stored (dequantised) weights in float32: fp16 and int8 models are evaluated exactly as stored.

The network input is the feature vector the trainer's encoding produces, in the same order, then t_pm1 = 2t - 1
when the model is mip-aware.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from texinr.trainer.core import families
from texinr.trainer.core.channels import layout_width, parse_layout
from texinr.trainer.core.config import parse_codec_grids
from texinr.trainer.core.errors import TexinrError
from texinr.trainer.core.quantize import latent_codes

WEIGHTS_TEX_WIDTH = 1024
_CODES_F16 = np.arange(256, dtype=np.float16)
"""uint8 code -> the same number as a half float (a table lookup: 2-3x faster than numpy's cast)."""


@dataclass(frozen=True)
class PackedWeights:
    """What the shader needs: `defines` (what the network is), `data` (what it has learned) and `glsl` (the code
    written for this network: `#include "generated:NAME"` in a shader is glsl[NAME])."""

    defines: dict[str, int | float | str]
    data: np.ndarray  # (rows, defines["WEIGHTS_TEX_WIDTH"], 4) float32
    latents: np.ndarray | None = None  # the codec's code atlas (H, W, 4) float16, sampled with bilinear filtering
    glsl: dict[str, str] = field(default_factory=dict)


def _ceil4(n: int) -> int:
    return (n + 3) // 4


def level_resolutions(levels: int, base_res: int, finest_res: int) -> list[int]:
    """Same as trainer.core.encodings.level_resolutions (kept torch-free here; a test checks they agree)."""
    if levels == 1:
        return [base_res]
    b = math.exp((math.log(finest_res) - math.log(base_res)) / (levels - 1))
    return [min(finest_res, math.floor(base_res * b**lvl + 1e-6)) for lvl in range(levels)]


def log_bands(n_bands: int, max_freq: float) -> np.ndarray:
    if n_bands == 1:
        return np.array([1.0], dtype=np.float32)
    return np.exp2(np.linspace(0.0, math.log2(max_freq), n_bands)).astype(np.float32)


class _Texels:
    def __init__(self):
        self.chunks: list[np.ndarray] = []
        self.size = 0

    def add(self, texels: np.ndarray) -> int:
        texels = np.asarray(texels, np.float32).reshape(-1, 4)
        offset = self.size
        self.chunks.append(texels)
        self.size += texels.shape[0]
        return offset

    def image(self) -> np.ndarray:
        """(rows, width, 4): WEIGHTS_TEX_WIDTH wide, or wider (a power of two) so that rows <= width."""
        width = WEIGHTS_TEX_WIDTH
        while math.ceil(self.size / width) > width:
            width *= 2
        rows = max(1, math.ceil(self.size / width))
        out = np.zeros((rows * width, 4), np.float32)
        start = 0
        for c in self.chunks:
            out[start : start + c.shape[0]] = c
            start += c.shape[0]
        return out.reshape(rows, width, 4)


def _atlas(tiles: list[tuple[np.ndarray, int]]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Shelf-pack tiles into one (H, W, 4) float16 image with a texel of zeros between tiles: the origin (x, y)
    of each tile, in input order. A tile is (codes (h, w, C), part): channels 4 part .. 4 part + 3 of codes.
    Bilinear sampling inside a tile never reaches its neighbours: the shader samples vertex centres, from the first
    to the last, and the weight of a texel beyond the last is exactly 0. The shelves are as wide as the square
    of the tiles' area (at least the widest tile), so that neither side of the atlas grows far beyond the other
    (GL limits both)."""
    shapes = [codes.shape[:2] for codes, _ in tiles]
    area = sum((h + 1) * (w + 1) for h, w in shapes)
    width = max(max(w for _, w in shapes) + 1, 256, math.ceil(math.sqrt(area)))
    order = sorted(range(len(tiles)), key=lambda i: -shapes[i][0])
    origins: list[tuple[int, int]] = [(0, 0)] * len(tiles)
    x = y = shelf = 0
    for i in order:
        th, tw = shapes[i]
        if x + tw > width:
            x, y, shelf = 0, y + shelf + 1, 0
        origins[i] = (x, y)
        x, shelf = x + tw + 1, max(shelf, th)
    out = np.zeros((y + shelf, width, 4), np.float16)
    for (ox, oy), (codes, part), (th, tw) in zip(origins, tiles, shapes, strict=True):
        n = min(4, codes.shape[2] - 4 * part)
        out[oy : oy + th, ox : ox + tw, :n] = codes[..., 4 * part : 4 * part + n]
    return out, origins


def _entries_to_texels(table: np.ndarray) -> np.ndarray:
    """(entries, F) -> (entries * ceil(F/4), 4) texels, zero padded."""
    n, f = table.shape
    per = _ceil4(f)
    out = np.zeros((n, per * 4), np.float32)
    out[:, :f] = table
    return out.reshape(n * per, 4)


def _mat_blocks(w: np.ndarray, in4: int, out4: int) -> np.ndarray:
    """(out, in) weight -> texels: for o, for i, the 4 columns of block [4o:4o+4, 4i:4i+4]."""
    padded = np.zeros((out4 * 4, in4 * 4), np.float32)
    padded[: w.shape[0], : w.shape[1]] = w
    blocks = padded.reshape(out4, 4, in4, 4)  # [o, row, i, col]
    return blocks.transpose(0, 2, 3, 1).reshape(-1, 4)  # [o, i, col] -> texel holds rows 0..3


def _int_array(values: list[int]) -> str:
    return "int[](" + ", ".join(str(int(v)) for v in values) + ")"


def encoding_width(cfg: dict) -> int:
    """Length of the encoding's feature vector (before t): the family's own rule."""
    return families.get(cfg["arch"]).feature_width(cfg)


# ---- each family's features: its width, and its texels and defines (registered in its registry entry) ----------
def coordinates_width(cfg: dict) -> int:
    return 2


def pack_coordinates(cfg: dict, weights: dict, tex: _Texels, d: dict) -> None:
    """Plain coordinates (xy_pm1): nothing to store."""


def fourier_width(cfg: dict) -> int:
    rows = cfg["fourier_bands"] * (2 if cfg["fourier_mode"] == "log" else 1)
    return 2 + 2 * rows


def pack_fourier(cfg: dict, weights: dict, tex: _Texels, d: dict) -> None:
    """One texel (fx, fy, 0, 0) per frequency row (log bands are written out too)."""
    if cfg["fourier_mode"] == "log":
        f = log_bands(cfg["fourier_bands"], cfg["fourier_max_freq"])
        freqs = np.zeros((2 * len(f), 2), np.float32)
        freqs[0::2, 0], freqs[1::2, 1] = f, f
    else:
        freqs = np.asarray(weights["encoding.freqs"], np.float32)
    texels = np.zeros((freqs.shape[0], 4), np.float32)
    texels[:, :2] = freqs
    d["FOURIER_OFFSET"] = tex.add(texels)
    d["N_FREQS"] = freqs.shape[0]


def _pack_tables(prefix: str, levels: int, feats: int, res: list[int], weights: dict, tex: _Texels, d: dict) -> None:
    offsets = []
    for lvl in range(levels):
        table = np.asarray(weights[f"encoding.tables.{lvl}"], np.float32).reshape(-1, feats)
        offsets.append(tex.add(_entries_to_texels(table)))
    d[f"{prefix}_LEVELS"] = levels
    d[f"{prefix}_FEATURES"] = feats
    d[f"{prefix}_TEXELS_PER_ENTRY"] = _ceil4(feats)
    d[f"{prefix}_RES"] = _int_array(res)
    d[f"{prefix}_OFFSET"] = _int_array(offsets)


def hash_grid_width(cfg: dict) -> int:
    return cfg["hash_levels"] * cfg["hash_features"]


def pack_hash_grid(cfg: dict, weights: dict, tex: _Texels, d: dict) -> None:
    """Per level, one run of texels per table entry, and the table's mask and which levels are dense."""
    levels, feats = cfg["hash_levels"], cfg["hash_features"]
    res = level_resolutions(levels, cfg["hash_base_res"], cfg["hash_finest_res"])
    _pack_tables("HASH", levels, feats, res, weights, tex, d)
    table_size = 1 << cfg["hash_table_log2"]
    d["HASH_TABLE_MASK"] = table_size - 1
    d["HASH_DENSE"] = _int_array([int((r + 1) ** 2 <= table_size) for r in res])


def dense_grid_width(cfg: dict) -> int:
    return cfg["grid_levels"] * cfg["grid_channels"]


def pack_dense_grid(cfg: dict, weights: dict, tex: _Texels, d: dict) -> None:
    """Per level, one run of texels per vertex: vertex (i, j) of level l is entry j * (res_l + 1) + i."""
    levels, feats = cfg["grid_levels"], cfg["grid_channels"]
    res = level_resolutions(levels, cfg["grid_base_res"], cfg["grid_finest_res"])
    _pack_tables("GRID", levels, feats, res, weights, tex, d)


def codec_width(cfg: dict) -> int:
    return sum(c for _, c, _ in parse_codec_grids(cfg["codec_grids"])) + 4 * cfg["codec_pe"]


def pack_codec_grids(cfg: dict, weights: dict, tex: _Texels, d: dict) -> np.ndarray:
    """The latent codes in their own atlas (returned: PackedWeights.latents), and where each tile is."""
    levels = parse_codec_grids(cfg["codec_grids"])
    texel = cfg.get("codec_layout", "texel") == "texel"
    tiles = []
    for lvl, (_, ch, bits) in enumerate(levels):
        codes = _CODES_F16[latent_codes(np.asarray(weights[f"encoding.tables.{lvl}"], np.float32), bits)]
        if texel:  # periodic: the first row and column again after the last, so one filtered fetch wraps around
            codes = np.concatenate([codes, codes[:1]], axis=0)
            codes = np.concatenate([codes, codes[:, :1]], axis=1)
        tiles += [(codes, part) for part in range(_ceil4(ch))]
    latents, origins = _atlas(tiles)
    d["CODEC_LEVELS"] = len(levels)
    d["CODEC_TEXEL"] = int(texel)
    d["CODEC_RES"] = _int_array([r for r, _, _ in levels])
    d["CODEC_CH"] = _int_array([c for _, c, _ in levels])
    d["CODEC_TILE_X"] = _int_array([x for x, _ in origins])
    d["CODEC_TILE_Y"] = _int_array([y for _, y in origins])
    d["CODEC_FEAT"] = _int_array([sum(c for _, c, _ in levels[:lvl]) for lvl in range(len(levels))])
    d["CODEC_DEQ"] = "float[](" + ", ".join(f"{2.0 / ((1 << b) - 1)!r}" for _, _, b in levels) + ")"
    d["CODEC_PE"] = int(cfg["codec_pe"])
    d["CODEC_PE_RES"] = max(r for r, _, _ in levels)
    d["CODEC_ATLAS_W"], d["CODEC_ATLAS_H"] = latents.shape[1], latents.shape[0]
    return latents


def pack(cfg: dict, weights: dict[str, np.ndarray]) -> PackedWeights:
    """Pack a model given its config (ModelConfig.to_dict()) and its float32 state dict (numpy).

    The MLP occupies texels [MLP_BASE, MLP_BASE + MLP_VEC4S); when MLP_UNROLLED is 1 it is also written into the
    shader (glsl["mlp"]) and the shader reads it from there.
    """
    arch = cfg["arch"]
    family = families.get(arch)
    family_id = family.packing_id
    if family_id is None:
        raise TexinrError(
            f"the {arch} family has no GPU path (no shader block): it trains and decodes, but is not drawn"
        )
    tex = _Texels()
    d: dict[str, int | float | str] = {"FAMILY": family_id, "LOD_INPUT": int(bool(cfg["lod"]))}
    d[f"FAMILY_{arch.upper()}"] = 1  # the family's block in shaders/include/network.glsl
    latents = family.pack_features(cfg, weights, tex, d)
    n_enc = encoding_width(cfg)
    n_in = n_enc + (1 if cfg["lod"] else 0)
    width, depth = cfg["width"], cfg["depth"]
    n_out = layout_width(parse_layout(cfg.get("channels", "rgb")))
    in4, hid4, out4 = _ceil4(n_in), _ceil4(width), _ceil4(n_out)
    d.update({"N_ENC": n_enc, "N_IN": n_in, "MLP_IN4": in4, "MLP_HIDDEN4": hid4, "MLP_DEPTH": depth})
    d.update({"N_OUT": n_out, "MLP_OUT4": out4})
    d["ACT_SIREN"] = int(family.activation == "sine")
    mlp_base = tex.size
    if family.activation == "sine":
        d["OMEGA0"] = float(cfg["omega0"])
    for layer in range(depth):
        w = np.asarray(weights[f"mlp.hidden.{layer}.weight"], np.float32)
        b = np.asarray(weights[f"mlp.hidden.{layer}.bias"], np.float32)
        i4 = in4 if layer == 0 else hid4
        w_off = tex.add(_mat_blocks(w, i4, hid4))
        bias = np.zeros(hid4 * 4, np.float32)
        bias[: b.shape[0]] = b
        b_off = tex.add(bias)
        if layer == 0:
            d["MLP_W0_OFFSET"], d["MLP_B0_OFFSET"] = w_off, b_off
        elif layer == 1:
            d["MLP_WH_OFFSET"] = w_off
            d["MLP_HIDDEN_STRIDE"] = hid4 * hid4 * 4 + hid4  # texels per hidden layer (weights + bias)
    w = np.asarray(weights["mlp.out.weight"], np.float32)
    b = np.asarray(weights["mlp.out.bias"], np.float32)
    d["MLP_WOUT_OFFSET"] = tex.add(_mat_blocks(w, hid4, out4))
    bias = np.zeros(out4 * 4, np.float32)
    bias[: b.shape[0]] = b
    d["MLP_BOUT_OFFSET"] = tex.add(bias)
    if depth == 1:
        d["MLP_WH_OFFSET"], d["MLP_HIDDEN_STRIDE"] = 0, 0
    d["MLP_BASE"], d["MLP_VEC4S"] = mlp_base, tex.size - mlp_base
    d["MLP_UNROLLED"] = int(hid4 <= MLP_UNROLL_MAX_HIDDEN4)
    data = tex.image()
    d["WEIGHTS_TEX_WIDTH"] = data.shape[1]
    mlp = data.reshape(-1, 4)[mlp_base : tex.size]
    glsl = {"mlp": mlp_glsl(d, mlp), "codec_encode": codec_encode_glsl(d)}
    return PackedWeights(d, data, latents, glsl)


def texture_sizes(packed: PackedWeights) -> dict[str, tuple[int, int]]:
    """(width, height) of every texture the shader reads for this network."""
    sizes = {"weights": (packed.data.shape[1], packed.data.shape[0])}
    if packed.latents is not None:
        sizes["latents"] = (packed.latents.shape[1], packed.latents.shape[0])
    return sizes


def fits_gl(packed: PackedWeights, max_texture_size: int) -> str | None:
    """None when every texture of `packed` fits GL_MAX_TEXTURE_SIZE, else why not (one line)."""
    for name, (w, h) in texture_sizes(packed).items():
        if max(w, h) > max_texture_size:
            what = "the codec's code atlas" if name == "latents" else "the weights texture"
            return (
                f"{what} would be {w}x{h} texels, beyond this GPU's largest texture ({max_texture_size}); "
                "use a lower bit rate or a smaller texture"
            )
    return None


MLP_UNROLL_MAX_HIDDEN4 = 16
"""MLPs up to 64 units wide are written into the shader by `mlp_glsl`, as straight-line code with their weights
as literals; wider ones loop over the weights texture (their source would be too large). Measured on llvmpipe
(2 cores, 1280 x 720, every pixel; the codec's 16 x 2 decoder at 2 bpp): 39-52 ms per frame and 0.26 s to
compile with literals; the same straight-line code reading a uniform block 389 ms and 14 s, loops over a uniform
block 501 ms and 13 s. A 64 x 2 decoder (hash grid): 0.76 s per frame and 4.5 s to compile with literals; loops
over the texture 8.2 s and 9 s, over a uniform block 10.8 s and 56 s (so no uniform block is used at all). The
price: new weights are a new program (the window spaces weight updates by their cost, compile included)."""


def _glsl_float(x: float) -> str:
    """A float32 as a GLSL literal that parses back to the same value (non-finite values by their bits)."""
    x = float(x)
    if math.isfinite(x):
        return repr(x)
    return "uintBitsToFloat(0x7fc00000u)" if math.isnan(x) else f"uintBitsToFloat(0x{'7f' if x > 0 else 'ff'}800000u)"


def mlp_glsl(defines: dict, mlp: np.ndarray) -> str:
    """GLSL of `void mlp_unrolled()`: the MLP from g_in[] to g_out[] with its weights as literals (`mlp`: the MLP's
    texels, (MLP_VEC4S, 4) float32), one vec4 variable per block of 4 units. Empty unless the defines ask for it
    (MLP_UNROLLED)."""
    if not int(defines.get("MLP_UNROLLED", 0)):
        return ""
    in4, hid4, depth, mlp_base = (int(defines[k]) for k in ("MLP_IN4", "MLP_HIDDEN4", "MLP_DEPTH", "MLP_BASE"))
    w0, b0, wh = (int(defines[k]) for k in ("MLP_W0_OFFSET", "MLP_B0_OFFSET", "MLP_WH_OFFSET"))
    stride, wout, bout = (int(defines[k]) for k in ("MLP_HIDDEN_STRIDE", "MLP_WOUT_OFFSET", "MLP_BOUT_OFFSET"))
    text = [[_glsl_float(v) for v in row] for row in np.asarray(mlp, np.float32).reshape(-1, 4)]

    def vec(k: int) -> str:
        return f"vec4({', '.join(text[k - mlp_base])})"

    def mat(k: int) -> str:
        return f"mat4({', '.join(vec(k + c) for c in range(4))})"

    out4 = int(defines.get("MLP_OUT4", 1))
    lines = ["void mlp_unrolled() {"]
    lines += [f"    vec4 x{i} = g_in[{i}];" for i in range(in4)]

    def layer(prefix: str, src: str, n_src: int, w_off: int, b_off: int) -> None:
        for o in range(hid4):
            terms = " + ".join(f"{mat(w_off + (o * n_src + i) * 4)} * {src}{i}" for i in range(n_src))
            lines.append(f"    vec4 {prefix}{o} = activation({vec(b_off + o)} + {terms});")

    layer("h0_", "x", in4, w0, b0)
    for lv in range(1, depth):
        base = wh + (lv - 1) * stride
        layer(f"h{lv}_", f"h{lv - 1}_", hid4, base, base + hid4 * hid4 * 4)
    last = f"h{depth - 1}_"
    for o in range(out4):
        terms = " + ".join(f"{mat(wout + (o * hid4 + i) * 4)} * {last}{i}" for i in range(hid4))
        lines.append(f"    g_out[{o}] = {vec(bout + o)} + {terms};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _parse_array(value) -> list[float]:
    """The list inside an `int[](...)` / `float[](...)` define (the format _int_array writes)."""
    text = str(value)
    return [float(v) for v in text[text.index("(") + 1 : text.rindex(")")].split(",")]


def codec_encode_glsl(defines: dict) -> str:
    """GLSL of `void codec_encode(vec2 uv01)`, written out per grid with constant offsets (a loop over the grids
    with per-grid bounds was half the codec's frame time on llvmpipe). Each grid's codes are one bilinear fetch per
    4 channels from the code atlas `t_latents` (vertex (i, j) of a tile at texel (x0 + i, y0 + j), so uv * res +
    0.5 lands between the right vertices with the right weights), dequantised (affine, so the same as
    interpolating dequantised values), then the positional encoding; the result goes to g_in as vec4s."""
    if "CODEC_LEVELS" not in defines:
        return ""
    res, ch, tx, ty, feats, deq = (
        _parse_array(defines[k])
        for k in ("CODEC_RES", "CODEC_CH", "CODEC_TILE_X", "CODEC_TILE_Y", "CODEC_FEAT", "CODEC_DEQ")
    )
    aw, ah = int(defines["CODEC_ATLAS_W"]), int(defines["CODEC_ATLAS_H"])
    n4 = 4 * int(defines["MLP_IN4"])
    lines = ["void codec_encode(vec2 uv01) {", f"    float f[{n4}];", f"    for (int i = 0; i < {n4}; ++i) f[i] = 0.0;"]
    lines.append(f"    const vec2 atlas_px = vec2({float(aw)!r}, {float(ah)!r});")
    tile = 0
    for lvl, r in enumerate(int(v) for v in res):
        if int(defines.get("CODEC_TEXEL", 0)):  # vertex (0, 0) at half a cell: shifted, wrapped, padded tile
            lines.append(f"    vec2 p{lvl} = fract(uv01 - {0.5 / r!r}) * {float(r)!r} + 0.5;")
        else:
            lines.append(f"    vec2 p{lvl} = uv01 * {float(r)!r} + 0.5;")
        for part in range((int(ch[lvl]) + 3) // 4):
            x0, y0 = int(tx[tile]), int(ty[tile])
            at = f"(p{lvl} + vec2({float(x0)!r}, {float(y0)!r})) / atlas_px"
            lines.append(f"    vec4 q{lvl}_{part} = textureLod(t_latents, {at}, 0.0) * {deq[lvl]!r} - 1.0;")
            lines += [
                f"    f[{int(feats[lvl]) + part * 4 + c}] = q{lvl}_{part}[{c}];"
                for c in range(4)
                if part * 4 + c < int(ch[lvl])
            ]
            tile += 1
    base = int(defines["N_ENC"]) - 4 * int(defines["CODEC_PE"])
    for k in range(int(defines["CODEC_PE"])):
        lines += [
            f"    vec2 ph{k} = uv01 * {math.pi * int(defines['CODEC_PE_RES']) * 2.0**k!r};",
            f"    f[{base + 4 * k}] = sin(ph{k}.x); f[{base + 4 * k + 1}] = sin(ph{k}.y);",
            f"    f[{base + 4 * k + 2}] = cos(ph{k}.x); f[{base + 4 * k + 3}] = cos(ph{k}.y);",
        ]
    lines += [
        f"    g_in[{i}] = vec4(f[{4 * i}], f[{4 * i + 1}], f[{4 * i + 2}], f[{4 * i + 3}]);" for i in range(n4 // 4)
    ]
    return "\n".join([*lines, "}"]) + "\n"
