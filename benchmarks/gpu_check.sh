#!/usr/bin/env bash
# The GPU check, as one script for a lent CUDA machine (see README "Benchmarks").
# Runs from the repository root with the machine's own python3/torch (no install):
#   OUT=/some/dir bash benchmarks/gpu_check.sh            # everything (~17 min on an H200)
#   QUICK=1 OUT=/some/dir bash benchmarks/gpu_check.sh    # no full protocol (~8 min)
#   STEPS="throughput protocol_full" OUT=/some/dir bash benchmarks/gpu_check.sh   # only these
#     (the two goals, ~2 + ~5 min: fits one 10-minute device call)
# Writes *.json (one line each) and *.log into $OUT. Each step has its own time limit so
# a slow step cannot starve the others. The protocol steps go through the engine's
# scheduler (wbsdesk/ml/scheduler.py), exactly as 'wbsdesk train' runs the 25 units.
# Peak GPU memory: nvidia-smi is sampled every 250 ms during each step (all processes,
# worker processes included) into $OUT/NAME.mem; the step prints its peak per GPU.
set -u
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PY:-python3}
ARCHS=vgg16,vgg19,resnet18,resnet34,mobilenet_v2
t0=$(date +%s)
step() {  # step NAME LIMIT_S ARGS...
  local name=$1 limit=$2 rc mem=""; shift 2
  case " ${STEPS:-$name} " in *" $name "*) ;; *) return 0;; esac
  echo "== $name (limit ${limit}s, at +$(( $(date +%s) - t0 ))s)"
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits -lms 250 \
      >"$OUT/$name.mem" 2>/dev/null & mem=$!
  fi
  timeout "$limit" "$PY" "$@" >"$OUT/$name.json" 2>"$OUT/$name.log"; rc=$?
  if [ -n "$mem" ]; then
    kill "$mem" 2>/dev/null; wait "$mem" 2>/dev/null
    awk -F', *' '$2+0 > m[$1] {m[$1] = $2+0} END {for (g in m) printf "peak GPU memory: cuda:%s %d MiB\n", g, m[g]}' "$OUT/$name.mem"
  fi
  echo "rc=$rc after +$(( $(date +%s) - t0 ))s"; tail -c 1500 "$OUT/$name.json"; echo
  [ -s "$OUT/$name.json" ] || tail -n 15 "$OUT/$name.log"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c 'import torch, torchvision, sys; print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.cuda.get_device_name(), torch.cuda.device_count(), "GPUs")'
# Goal: the engine >= 5x the naive loop (images/s per architecture, 224 px, batch 16).
step throughput ${THROUGHPUT_LIMIT:-110} benchmarks/train_throughput.py --device cuda --archs $ARCHS \
  --steps 20 --rounds 2 --images 64 --naive-workers 8
# What a unit costs outside its training loop: in-process, worker processes, Ray (if installed).
step scheduler_overhead ${OVERHEAD_LIMIT:-120} benchmarks/scheduler_overhead.py --device cuda --folds 8 \
  --workers 4 --px 64 --photos 96
# The paper's protocol for 10 epochs through the scheduler: one unit per visible GPU, then
# 2 and 4 units per GPU at once (small batches leave a GPU idle between kernel launches).
step protocol_e10 ${E10_LIMIT:-100} benchmarks/paper_protocol.py --device cuda --epochs 10
step protocol_e10_w2 ${E10_LIMIT:-100} benchmarks/paper_protocol.py --device cuda --epochs 10 --workers 2
step protocol_e10_w4 ${E10_LIMIT:-100} benchmarks/paper_protocol.py --device cuda --epochs 10 --workers 4
[ "${QUICK:-0}" = 1 ] && exit 0
# Goal: the full protocol (5 architectures x 5 folds x 100 epochs) in <= 5 min on one H200.
# PROTOCOL_WORKERS: units at once (default: the scheduler's choice, one per GPU); pick the
# best of the e10 steps above.
step protocol_full ${FULL_LIMIT:-600} benchmarks/paper_protocol.py --device cuda --epochs 100 \
  ${PROTOCOL_WORKERS:+--workers $PROTOCOL_WORKERS}
# The same protocol end to end through the product (workspace, study, 'wbsdesk train': plan,
# train, out-of-fold import into the store): needs wbsdesk's dependencies (PY=.venv/bin/python
# after 'make install'); run it with E2E=1 or STEPS="... protocol_e2e".
if [ "${E2E:-0}" = 1 ] || [ -n "${STEPS:-}" ]; then
  [ "${E2E:-0}" = 1 ] && [ -n "${STEPS:-}" ] && STEPS="$STEPS protocol_e2e"
  step protocol_e2e ${E2E_LIMIT:-600} benchmarks/paper_protocol_e2e.py --device cuda \
    ${PROTOCOL_WORKERS:+--workers $PROTOCOL_WORKERS}
fi
# Where the Grad-CAM heat falls at 224 px (the last block's 7 x 7 map) on a demo run trained
# there: needs wbsdesk's dependencies like protocol_e2e; run it with STEPS="... gradcam_224".
if [ -n "${STEPS:-}" ]; then
  step gradcam_224 ${GRADCAM_LIMIT:-420} benchmarks/gradcam_224.py --device cuda --epochs 30
fi
# Fold-batched training (benchmarks/stacked.py, not shipped): would the 5 folds of one
# architecture as one grouped model beat 5 units? Kept as a comparison.
[ "${FOLD_BATCHED:-0}" = 1 ] && step fold_batched ${FOLD_BATCHED_LIMIT:-240} benchmarks/fold_batched.py \
  --device cuda --archs resnet18,mobilenet_v2,resnet34,vgg16 --steps 30 --verify
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
echo "total +$(( $(date +%s) - t0 ))s"
