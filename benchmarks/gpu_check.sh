#!/usr/bin/env bash
# The [3/8] GPU check, as one script for a lent CUDA machine (see README "Benchmarks").
# Runs from the repository root with the machine's own python3/torch (no install):
#   OUT=/some/dir bash benchmarks/gpu_check.sh
# Writes *.json (one line each) and *.log into $OUT. Each step has its own time limit so
# a slow step cannot starve the others.
set -u
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PY:-python3}
ARCHS=vgg16,vgg19,resnet18,resnet34,mobilenet_v2
t0=$(date +%s)
step() {  # step NAME LIMIT_S ARGS...
  local name=$1 limit=$2; shift 2
  echo "== $name (limit ${limit}s, at +$(( $(date +%s) - t0 ))s)"
  timeout "$limit" "$PY" "$@" >"$OUT/$name.json" 2>"$OUT/$name.log"
  echo "rc=$? after +$(( $(date +%s) - t0 ))s"; tail -c 1500 "$OUT/$name.json"; echo
  [ -s "$OUT/$name.json" ] || tail -n 15 "$OUT/$name.log"
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c 'import torch, torchvision, sys; print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.cuda.get_device_name())'
step throughput ${THROUGHPUT_LIMIT:-110} benchmarks/train_throughput.py --device cuda --archs $ARCHS \
  --steps 20 --rounds 2 --images 64 --naive-workers 8
# Fold-batched training (wbsdesk/ml/stacked.py): do the 5 folds of one architecture as one
# grouped model beat 5 models in turn? Not yet used by the engine; this decides whether to.
step fold_batched ${FOLD_BATCHED_LIMIT:-240} benchmarks/fold_batched.py --device cuda \
  --archs resnet18,mobilenet_v2,resnet34,vgg16 --steps 30 --verify
step protocol_e10 ${E10_LIMIT:-100} benchmarks/paper_protocol.py --device cuda --epochs 10
[ "${QUICK:-0}" = 1 ] && exit 0
# Folds in 5 processes side by side: paid x1.8 with per-image augmentation, lost with the
# batched one (2026-11-27, H200); kept as a comparison.
step protocol_e10_procs5 100 benchmarks/paper_protocol.py --device cuda --epochs 10 --fold-procs 5
step protocol_full ${FULL_LIMIT:-600} benchmarks/paper_protocol.py --device cuda --epochs 100
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader
echo "total +$(( $(date +%s) - t0 ))s"
