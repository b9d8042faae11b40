#!/usr/bin/env bash
# Throughput of texinr-compress on this machine: 8 development textures resized to 512^2, the codec at 2 bpp, a
# fixed budget of 600 steps, in-process against a local Ray with 1 and 2 workers. Wall time of the whole command
# (Ray's start included). Usage: docs/bench/library/scaling.sh OUTDIR   (writes OUTDIR/<config>/ and scaling.csv)
set -euo pipefail
out=${1:?give an output folder}
tex=../shared/data/textures
inputs=($tex/ambientcg_Metal053C_color_1k.jpg $tex/ambientcg_Metal055A_color_1k.jpg $tex/ambientcg_Rock053_color_1k.jpg
  $tex/polyhaven_aerial_rocks_02_diff_1k.jpg $tex/polyhaven_brick_wall_001_diff_1k.jpg
  $tex/polyhaven_brown_mud_leaves_01_diff_1k.jpg $tex/polyhaven_coast_sand_rocks_02_diff_1k.jpg
  $tex/polyhaven_concrete_wall_006_diff_1k.jpg)
common=(--size 512 --bpp 2 --steps 600 --seed 0)
mkdir -p "$out"
echo "config,wall_s,textures" > "$out/scaling.csv"
run() {
  local name=$1; shift
  rm -rf "$out/$name"
  local t0=$(date +%s.%N)
  .venv/bin/texinr-compress "${inputs[@]}" --out "$out/$name" "${common[@]}" "$@" > "$out/$name.log" 2>&1
  local t1=$(date +%s.%N)
  echo "$name,$(echo "$t1 - $t0" | bc),${#inputs[@]}" >> "$out/scaling.csv"
}
run inprocess-2threads --threads 2
run ray-1worker-2threads --threads 2 --ray --ray-cpus 2
run ray-2workers-1thread --threads 1 --ray --ray-cpus 2
run inprocess-1thread --threads 1
cat "$out/scaling.csv"
