#!/usr/bin/env bash
# One prepared run on a CUDA machine: what the GPU changes, in priority order, each step under its own time limit.
#
#   OUT=gpu_out bash bench/device_check.sh                  # every step; logs and bench_*.json land in $OUT
#   OUT=gpu_out bash bench/device_check.sh accuracy predict # only these steps, in this order
#
# Steps: env (the environment); train (training fp32 vs mixed precision per architecture at 256x256 batch 4);
# bigbatch (the same at 512x512 batch 16, where a GPU is not bound by kernel launches); predict (512x512 and
# tiled 4096/8192 prediction on the GPU); accuracy (the ISBI accuracy guard); tests (the core tests with CUDA
# visible; the GUI tests need a display and PySide6); isbi (one-minute ISBI training + eval); torchrun (one
# process, and two on a one-GPU machine, which segcore refuses with a message).
# First run (H200, 2026-11-27): the whole script needs ~15 minutes; see docs/performance.md.
# Real data: ../shared/data, or a copy carried in .devdata/ (linked into place when ../shared/data is absent).
set -u
OUT=${OUT:-device_out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .devdata ] && [ ! -e ../shared/data ]; then mkdir -p ../shared && ln -s "$PWD/.devdata" ../shared/data; fi

step() {  # step NAME SECONDS COMMAND...: full log in $OUT/NAME.log, its tail here
    local name=$1 limit=$2 start rc
    shift 2
    start=$(date +%s)
    echo "=== $name (limit ${limit}s): $*"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    echo "=== $name rc=$rc in $(($(date +%s) - start))s"
    tail -n 12 "$OUT/$name.log"
}

run_step() {
    case $1 in
    env) step env 60 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; nproc; $PY -c '
import sys, torch, torchvision
print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.cuda.get_device_name(),
      \"bf16:\", torch.cuda.is_bf16_supported())'" ;;
    train) step train 150 "$PY" -m bench --device cuda --only train --json "$OUT/bench_train.json" ;;
    bigbatch) step bigbatch 150 "$PY" -m bench.train_speed --batch 16 --patch 512 ;;
    predict) step predict 180 "$PY" -m bench --device cuda --only predict_512 tiled --json "$OUT/bench_predict.json" ;;
    accuracy) step accuracy 180 "$PY" -m bench --only accuracy --json "$OUT/bench_accuracy.json" ;;
    tests) step tests 200 "$PY" -m pytest -q -p no:cacheprovider --ignore=tests/gui -n 4 tests ;;
    isbi)
        rm -rf /tmp/isbi_gpu
        step isbi 120 "$PY" bench/isbi_target.py --minutes 1 --out /tmp/isbi_gpu ;;
    torchrun) step torchrun 90 bash -c "
set -x
$PY -m segcore sample-data /tmp/tr_data --count 8 --size 256 &&
$PY -m torch.distributed.run --nproc_per_node=1 -m segcore train /tmp/tr_data -e 2 -b 2 -q -o /tmp/tr_run1 &&
ls /tmp/tr_run1;
$PY -m torch.distributed.run --nproc_per_node=2 -m segcore train /tmp/tr_data -e 2 -b 2 -q -o /tmp/tr_run2;
echo two-process-rc=\$?" ;;
    *) echo "unknown step: $1 (env train bigbatch predict accuracy tests isbi torchrun)" >&2; return 2 ;;
    esac
}

for name in "${@:-env train bigbatch predict accuracy tests isbi torchrun}"; do
    for one in $name; do run_step "$one"; done
done
echo "=== done"
