#!/usr/bin/env bash
# GPU check run on a CUDA machine without .NET: uses the self-contained 'sae' published to publish/linux-x64.
# 1) cross-check the ILGPU/CUDA backend against the CPU backend (codes + gradients) at a mid shape,
# 2) time train steps, encode and TopK at the benchmark shape on the GPU and on the CPU backend,
# 3) time and verify the other architectures, 4) run the README's default training and the comparison on the GPU.
set -uo pipefail
SAE="${SAE:-publish/linux-x64/sae}"
chmod +x "$SAE"
OUT="${OUT:-/tmp/out}"; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
echo "== verify gpu vs cpu (d 768, F 4096, k 32, B 1024)"
"$SAE" bench --backend gpu --verify cpu --d 768 --latents 4096 --k 32 --batch 1024 --steps 5 --json | tee "$OUT/verify.txt"
echo "== gpu bench (d 768, F 16384, k 32, B 4096)"
"$SAE" bench --backend gpu --steps 20 --json | tee "$OUT/bench-gpu.txt"
echo "== gpu bench at k 16 and 128 (radix-select TopK; d 768, F 16384, B 4096)"
for k in 16 128; do "$SAE" bench --backend gpu --k "$k" --steps 20 --json | tee "$OUT/bench-gpu-k$k.txt"; done
echo "== gpu bench small (d 768, F 4096, k 32, B 1024)"
"$SAE" bench --backend gpu --latents 4096 --batch 1024 --steps 20 --json | tee "$OUT/bench-gpu-small.txt"
echo "== cpu bench on the device host (d 768, F 16384, k 32, B 4096)"
"$SAE" bench --backend cpu --steps 3 --json | tee "$OUT/bench-cpu.txt"
echo "== gpu bench of the batch-level selections (d 768, F 16384, k 32, B 4096)"
for arch in batchtopk feature-choice topafa matryoshka-topk; do "$SAE" bench --backend gpu --arch "$arch" --steps 10 --json | tee "$OUT/bench-gpu-$arch.txt"; done
echo "== verify every architecture's gradients against cpu at a mid shape"
for arch in abstopk batchtopk feature-choice relu jumprelu topafa gba gsae vsae matryoshka matryoshka-abstopk; do "$SAE" bench --backend gpu --arch "$arch" --verify cpu --latents 4096 --batch 1024 --steps 2 --json | tail -1; done | tee "$OUT/verify-archs.txt"
echo "== default training on gpu"
( time "$SAE" train --backend gpu --json --out /tmp/sae.saeckpt ) 2>&1 | tee "$OUT/train-gpu.txt"
echo "== comparison of all architectures on gpu"
"$SAE" compare --backend gpu | tee "$OUT/compare-gpu.txt"
echo "== ITDA build (matching pursuit) on gpu and cpu"
for be in gpu cpu; do ( time "$SAE" itda build --backend "$be" --out "/tmp/$be.itda" --compare-topk ) 2>&1 | tee "$OUT/itda-$be.txt"; done
echo "== absorption benchmark on gpu"
"$SAE" absorption --backend gpu | tee "$OUT/absorption-gpu.txt"
