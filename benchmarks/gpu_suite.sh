#!/usr/bin/env bash
# Everything that needs a CUDA GPU, in one run (at most 22 minutes by its per-step limits):
#
#   1. the CUDA tests (pytest -m cuda): fp16 / bf16 autocast through reversible blocks against
#      the plain run, the CUDA peak-memory measure, the planner's prediction against
#      torch.cuda.max_memory_allocated, a CUDA training epoch;
#   2. the planner's check on CUDA (revgnn plan --check --device cuda);
#   3. memory and time versus depth on CUDA: benchmarks/memory_depth.py (revgnn against PyG)
#      and revgnn profile in fp32, bf16 and fp16;
#   4. the aggregation speed benchmark on CUDA (one GENConv layer: the compiled Triton kernels
#      against the eager path, a scatter-sum and PyG; each with its achieved bandwidth as a
#      fraction of the measured copy bandwidth and of the GPU's nominal peak);
#   5. the DeepGCN depth benchmark on CUDA (ResGCN against reversible ResGCN);
#   6. the full-size OGB rehearsal (benchmarks/ogb_scale.py) of RevGAT on ogbn-arxiv and of
#      RevGNN-Deep (1001 layers) and DeeperGCN (112 layers) on ogbn-proteins, on synthetic
#      graphs of the real sizes written to a temporary folder (about 3 minutes of writing).
#
# It installs nothing beyond the README's setup (./setup.sh; with a CUDA build of torch
# already in .venv, or TORCH_SPEC naming one). Every result is JSON under one folder:
#
#   benchmarks/gpu_suite.sh [OUT]            # OUT defaults to benchmarks/results/gpu
#
# A step that fails is reported and the others still run; the exit status is that of the
# worst step. Commit the folder and copy the figures into benchmarks/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/results/gpu}
mkdir -p "$OUT"
./setup.sh || exit 1
PY=.venv/bin/python
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_suite: no CUDA device visible to torch ($("$PY" -c 'import torch; print(torch.__version__)'))" >&2
  exit 2
fi
"$PY" - > "$OUT/machine.json" <<'PYEOF'
import json, platform, torch
p = torch.cuda.get_device_properties(0)
print(json.dumps({"gpu": p.name, "memory_bytes": p.total_memory, "torch": torch.__version__,
                  "cuda": torch.version.cuda, "python": platform.python_version()}, indent=1))
PYEOF
status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to OUT/NAME.log
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  echo "== $name"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 5 "$OUT/$name.log"
  echo "== $name: exit $rc, $((SECONDS - start)) s"
  [ $rc -ne 0 ] && status=$rc
  return 0
}
step cuda_tests 120 "$PY" -m pytest -q -p no:cacheprovider -m cuda -rA \
  --junitxml="$OUT/cuda_tests.xml"
step plan_check 120 .venv/bin/revgnn plan --check --device cuda --no-progress \
  --out "$OUT/plan_check_cuda"
step memory_depth 120 "$PY" benchmarks/memory_depth.py --device cuda --layers 7 28 112 448 \
  --json "$OUT/memory_depth_cuda.json"
step profile_amp 120 .venv/bin/revgnn profile --kinds revgnn,deepergcn --depths 7,28,112 \
  --amp none,bf16,fp16 --device cuda --no-progress --out "$OUT/profile_amp_cuda"
step aggregation_speed 240 "$PY" benchmarks/aggregation_speed.py --device cuda --threads 1 \
  --rounds 3 --aggrs softmax powermean max --impls revgnn revgnn-eager scatter-sum pyg --step \
  --json "$OUT/aggregation_speed_cuda.json"
step point_cloud_depth 120 "$PY" benchmarks/point_cloud_depth.py --device cuda \
  --depths 7 28 56 151 --plain-depths 7 28 --json "$OUT/point_cloud_depth_cuda.json"
OGB_ROOT=${TMPDIR:-/tmp}/revgnn_ogb_full
step ogb_scale 480 "$PY" benchmarks/ogb_scale.py --root "$OGB_ROOT" --write \
  --presets ogbn-arxiv/revgat ogbn-proteins/revgnn-deep ogbn-proteins/deeper-gcn \
  --steps 3 --eval-budget 60 --json "$OUT/ogb_scale_cuda.json"
echo "gpu_suite: results in $OUT (exit $status)"
exit $status
