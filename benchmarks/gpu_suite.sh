#!/usr/bin/env bash
# Everything that needs a CUDA GPU, in one run (at most 40 minutes by its per-step limits,
# sized from an H200's run: about 20 s of process start and 10-13 s of Triton compiling per
# measured process), most wanted first:
#
#   1. the CUDA tests (pytest -m cuda): fp16 / bf16 autocast through reversible blocks against
#      the plain run, the CUDA peak-memory measure, the planner's prediction against
#      torch.cuda.max_memory_allocated, a CUDA training epoch;
#   2. the aggregation speed benchmark on CUDA (one GENConv layer: the compiled Triton kernels
#      against the eager path, a scatter-sum and PyG; each with its achieved bandwidth as a
#      fraction of the measured copy bandwidth and of the GPU's nominal peak);
#   3. memory and time versus depth on CUDA: benchmarks/memory_depth.py (revgnn against PyG);
#   4. the full-size OGB rehearsal (benchmarks/ogb_scale.py) of RevGNN-Deep (1001 layers) and
#      DeeperGCN (112 layers) on ogbn-proteins and RevGAT on ogbn-arxiv, on synthetic graphs
#      of the real sizes. Their folders are written on the CPU in the background from the
#      start (about 3 minutes), so the GPU steps before it do not wait for them;
#   5. the planner's check on CUDA (revgnn plan --check --device cuda);
#   6. revgnn profile in fp32, bf16 and fp16;
#   7. the DeepGCN depth benchmark on CUDA (ResGCN against reversible ResGCN).
#
#   benchmarks/gpu_suite.sh [OUT]            # OUT defaults to benchmarks/results/gpu
#
# Environment:
#   REVGNN_PYTHON   an interpreter that already has a CUDA build of torch and the package's
#                   dependencies: no ./setup.sh; this checkout goes first on PYTHONPATH.
#                   Without it, the README's setup runs (./setup.sh; with a CUDA build of
#                   torch already in .venv, or TORCH_SPEC naming one).
#   STEPS           the steps to run, by name (default: all of them, in the order above).
#   AGGREGATION_ROUNDS  alternating rounds of step 2 (default 2; 1 on a short lease).
#
# On a short lease choose: STEPS="cuda_tests" takes 1.5 minutes on an H200.
#   OGB_ROOT        where the full-size OGB folders are (written there when missing).
#   OGB_PRESETS     the presets that step 4 rehearses.
#
# Every result is JSON under OUT. A step that fails is reported and the others still run;
# the exit status is that of the worst step. Commit the folder and copy the figures into
# benchmarks/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/results/gpu}
mkdir -p "$OUT"
if [ -n "${REVGNN_PYTHON:-}" ]; then
  PY=$REVGNN_PYTHON
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"  # this checkout's revgnn, not installed
else
  ./setup.sh || exit 1
  PY=.venv/bin/python
fi
REVGNN=("$PY" -m revgnn.cli)
ALL="cuda_tests aggregation_speed memory_depth ogb_scale plan_check profile_amp point_cloud_depth"
STEPS=${STEPS:-$ALL}
for s in $STEPS; do
  case " $ALL " in *" $s "*) ;; *) echo "gpu_suite: unknown step $s (steps: $ALL)" >&2; exit 2 ;; esac
done
wants() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
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

OGB_ROOT=${OGB_ROOT:-${TMPDIR:-/tmp}/revgnn_ogb_full}
OGB_PRESETS=${OGB_PRESETS:-ogbn-proteins/revgnn-deep ogbn-proteins/deeper-gcn ogbn-arxiv/revgat}
writer=
if wants ogb_scale; then  # CPU work: overlap it with the GPU steps
  # shellcheck disable=SC2086
  "$PY" benchmarks/ogb_scale.py --root "$OGB_ROOT" --write-only --presets $OGB_PRESETS \
    > "$OUT/ogb_write.log" 2>&1 &
  writer=$!
fi

status=0
step() {  # step NAME SECONDS COMMAND...: run with a time limit, log to OUT/NAME.log
  local name=$1 limit=$2; shift 2
  wants "$name" || return 0
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
step aggregation_speed 600 "$PY" benchmarks/aggregation_speed.py --device cuda --threads 1 \
  --rounds "${AGGREGATION_ROUNDS:-2}" --aggrs softmax powermean max \
  --impls revgnn revgnn-eager scatter-sum pyg --step --json "$OUT/aggregation_speed_cuda.json"
step memory_depth 420 "$PY" benchmarks/memory_depth.py --device cuda --layers 7 28 112 448 \
  --json "$OUT/memory_depth_cuda.json"
if [ -n "$writer" ]; then
  wait "$writer" || { echo "gpu_suite: writing the OGB folders failed ($OUT/ogb_write.log)"; status=1; }
fi
# shellcheck disable=SC2086
step ogb_scale 900 "$PY" benchmarks/ogb_scale.py --root "$OGB_ROOT" --presets $OGB_PRESETS \
  --steps 2 --eval-budget 60 --json "$OUT/ogb_scale_cuda.json"
step plan_check 120 "${REVGNN[@]}" plan --check --device cuda --no-progress \
  --out "$OUT/plan_check_cuda"
step profile_amp 120 "${REVGNN[@]}" profile --kinds revgnn,deepergcn --depths 7,28,112 \
  --amp none,bf16,fp16 --device cuda --no-progress --out "$OUT/profile_amp_cuda"
step point_cloud_depth 120 "$PY" benchmarks/point_cloud_depth.py --device cuda \
  --depths 7 28 56 151 --plain-depths 7 28 --json "$OUT/point_cloud_depth_cuda.json"
echo "gpu_suite: results in $OUT (exit $status)"
exit $status
