"""The six built-in model families, one registry entry each (trainer.core.families says what an entry holds).

Defaults, measured on short CPU budgets:
- sizes: the paper's MLP size (256 x 3), instant-ngp's image hash grid, a small latent grid whose 16 x 2 decoder
  renders at >= 10 frames/s on 2-core software GL (docs/results/render-core.md) and trains faster than 32 x 2. The
  codec's decoder is 16 x 2 too: on llvmpipe a 32-wide layer costs 5x a 16-wide one per pixel (register spills),
  and at 2 bpp with mips, 60 s, the 16 x 2 decoder scored 34.27 / 32.91 / 40.53 dB against 34.83 / 31.63 / 39.71 for
  32 x 2 on brick_wall, astronaut and Metal055A (single runs; the bits it saves go to the grids).
- learning rates: a SIREN at 1e-4 needs thousands of steps; grids want large steps, as instant-ngp's 1e-2.
- the codec's batch: its quantised latents learn faster from more, smaller steps (astronaut 512^2, 40 s: 32.2 dB
  at 16k samples per step against 31.1 dB at 64k).
- the codec's FLIP finish: on brick_wall_001 at 2 bpp, 60 s: MSE only 37.16 dB / FLIP 0.0568; the last 30% on FLIP
  37.50 dB / 0.0453 (ASTC 8x8: 0.0491); the last 50% 37.28 / 0.0453; the last 15% 37.03 / 0.0523.
- the codec's material decoder is 32 wide: 8 outputs through 16 hidden units lost 0.7 dB on base colour and
  1.2-1.6 dB on occlusion / roughness / metallic (wooden_crate_01, 1k, 12x12-equal bits, 60 s: 34.10 / 34.04 /
  33.46 / 34.97 dB at 16 wide, 34.77 / 35.21 / 34.29 / 35.55 at 32, normal 2.44 -> 2.16 degrees); it costs frame
  time (docs/results/materials.md).
"""

from __future__ import annotations

from texinr.trainer.core.config import ModelConfig, parse_codec_grids
from texinr.trainer.core.encodings import DenseGrid, FourierFeatures, HashGrid, PmOne, QuantizedGrids
from texinr.trainer.core.families import Family, register
from texinr.trainer.core.packing import (
    codec_width,
    coordinates_width,
    dense_grid_width,
    fourier_width,
    hash_grid_width,
    pack_codec_grids,
    pack_coordinates,
    pack_dense_grid,
    pack_fourier,
    pack_hash_grid,
)
from texinr.trainer.core.sizing import size_codec, size_dense_grid, size_hash_grid, size_width


def _coordinates(cfg: ModelConfig) -> PmOne:
    return PmOne()


def _fourier(cfg: ModelConfig) -> FourierFeatures:
    return FourierFeatures(
        cfg.fourier_bands, cfg.fourier_mode, cfg.fourier_max_freq, cfg.fourier_sigma, cfg.fourier_seed
    )


def _hash_grid(cfg: ModelConfig) -> HashGrid:
    return HashGrid(cfg.hash_levels, cfg.hash_features, cfg.hash_table_log2, cfg.hash_base_res, cfg.hash_finest_res)


def _dense_grid(cfg: ModelConfig) -> DenseGrid:
    return DenseGrid(cfg.grid_levels, cfg.grid_channels, cfg.grid_base_res, cfg.grid_finest_res)


def _codec_grids(cfg: ModelConfig) -> QuantizedGrids:
    return QuantizedGrids(parse_codec_grids(cfg.codec_grids), cfg.codec_pe, layout=cfg.codec_layout)


def _tune_siren(m: ModelConfig, side: int) -> tuple[str, list[float]]:
    return "omega0", [15.0, 30.0, 60.0, 120.0]


def _tune_fourier(m: ModelConfig, side: int) -> tuple[str, list[float]]:
    if m.fourier_mode == "gaussian":
        return "fourier_sigma", [5.0, 10.0, 20.0, 40.0]
    return "fourier_max_freq", [float(f) for f in (side / 16, side / 8, side / 4, side / 2) if f >= 1]


register(
    Family(
        name="relu",
        label="ReLU MLP",
        preset={"width": 256, "depth": 3},
        lr=3e-3,
        encoding=_coordinates,
        size=size_width,
        packing_id=0,
        feature_width=coordinates_width,
        pack_features=pack_coordinates,
    )
)
register(
    Family(
        name="siren",
        label="SIREN",
        preset={"width": 256, "depth": 3, "omega0": 30.0},
        lr=5e-4,
        encoding=_coordinates,
        size=size_width,
        options=("omega0",),
        activation="sine",
        tune=_tune_siren,
        packing_id=1,
        feature_width=coordinates_width,
        pack_features=pack_coordinates,
    )
)
register(
    Family(
        name="fourier",
        label="Fourier-feature MLP",
        preset={"width": 256, "depth": 3, "fourier_bands": 16, "fourier_max_freq": 128.0},
        lr=3e-3,
        encoding=_fourier,
        size=size_width,
        options=("fourier_bands", "fourier_mode", "fourier_max_freq", "fourier_sigma", "fourier_seed"),
        tune=_tune_fourier,
        packing_id=2,
        feature_width=fourier_width,
        pack_features=pack_fourier,
    )
)
register(
    Family(
        name="hashgrid",
        label="hash grid + MLP",
        preset={"width": 64, "depth": 2, "hash_levels": 16, "hash_features": 2, "hash_table_log2": 14},
        lr=1e-2,
        encoding=_hash_grid,
        size=size_hash_grid,
        options=("hash_levels", "hash_features", "hash_table_log2", "hash_base_res", "hash_finest_res"),
        describe=lambda m: f"{m.hash_levels} levels, table 2^{m.hash_table_log2}, MLP {m.width} x {m.depth}",
        packing_id=3,
        feature_width=hash_grid_width,
        pack_features=pack_hash_grid,
    )
)
register(
    Family(
        name="grid",
        label="latent grid + MLP",
        preset={"width": 16, "depth": 2, "grid_levels": 3, "grid_channels": 4},
        lr=1e-2,
        encoding=_dense_grid,
        size=size_dense_grid,
        options=("grid_levels", "grid_channels", "grid_base_res", "grid_finest_res"),
        describe=lambda m: (
            f"{m.grid_levels} levels x {m.grid_channels} ch, {m.grid_base_res}..{m.grid_finest_res}, MLP {m.width}"
        ),
        packing_id=4,
        feature_width=dense_grid_width,
        pack_features=pack_dense_grid,
    )
)
register(
    Family(
        name="codec",
        label="quantised latent codec",
        preset={"width": 16, "depth": 2, "codec_grids": "512x1x1,256x1x2,128x1x4,32x8x4", "codec_pe": 1},
        lr=3e-2,
        encoding=_codec_grids,
        size=size_codec,
        options=("codec_grids", "codec_pe", "codec_layout"),
        batch=1 << 14,
        flip_finish=0.3,
        material_preset={"width": 32},
        describe=lambda m: f"grids {m.codec_grids}, decoder {m.width} x {m.depth}",
        allocations=True,
        latent_bits=lambda m: [b for _, _, b in parse_codec_grids(m.codec_grids)],
        bench_bits=16,
        packing_id=5,
        feature_width=codec_width,
        pack_features=pack_codec_grids,
    )
)
