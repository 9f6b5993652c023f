#!/usr/bin/env bash
# test_bn_train.sh SER CORPUS WORKDIR: training with batchnorm layers (10-word corpus, batch 8:
# 13 batches per epoch), spec "conv1d:16:5 batchnorm relu maxpool:2 lstm:16 dense:8 batchnorm
# relu dense:7".
#  A. --deterministic: np = 1 and np = 2 give byte-identical exports (weights AND running
#     statistics); the statistics moved from their start and num_batches_tracked = 26 steps;
#  B. a run interrupted by a signal mid-epoch on np = 2 and resumed on np = 1 gives the same
#     bytes (the running statistics are in the checkpoint and restored);
#  C. `ser info` lists the running buffers; the export loads into the PyTorch module
#     (tests/torch_model.py, load_state_dict strict=True) and, in model.eval(), gives the
#     probabilities of `ser predict` (max abs diff <= 1e-4, tests/bn_check.py).
set -uo pipefail
ser=$1 corpus=$2 work=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
spec="conv1d:16:5 batchnorm relu maxpool:2 lstm:16 dense:8 batchnorm relu dense:7"
base=(--data "$corpus" --features "$work/features.serf" --batch-size 8 --patience 100 --quiet
      --model "$spec" --epochs 2)
det=(--deterministic --micro-batch 2)
train() { local np=$1; shift; mpiexec --oversubscribe -np "$np" "$ser" train "${base[@]}" "$@"; }
export_npz() { "$ser" export "$1" --npz "$2" || fail "export $1"; }

train 1 "${det[@]}" --out "$work/det1" || fail "deterministic np=1"
train 2 "${det[@]}" --out "$work/det2" || fail "deterministic np=2"
export_npz "$work/det1/last.ckpt" "$work/det1.npz"
export_npz "$work/det2/last.ckpt" "$work/det2.npz"
cmp -s "$work/det1.npz" "$work/det2.npz" || fail "deterministic np=2 vs np=1: exports differ"
/usr/bin/python3 "$here/bn_check.py" moved "$work/det1.npz" 26 || fail "running statistics"
echo "A: --deterministic with batchnorm: np=1 and np=2 byte-identical"

SER_FAULT_SIGNAL_BATCH=19 train 2 "${det[@]}" --out "$work/res"; rc=$?
[[ $rc == 75 ]] || fail "signal mid-epoch: exit $rc, expected 75"
train 1 "${det[@]}" --out "$work/res" --resume auto || fail "resume on np=1"
export_npz "$work/res/last.ckpt" "$work/res.npz"
cmp -s "$work/det1.npz" "$work/res.npz" || fail "interrupted np=2, resumed np=1: exports differ"
echo "B: resume with batchnorm is bit-identical"

info=$("$ser" info "$work/det1/best.ckpt") || fail "ser info"
grep -q "param.buffers .*bn2.running_var\[8\]" <<<"$info" || fail "ser info: no running buffers"
train 2 --out "$work/run2" || fail "default-mode np=2"
export_npz "$work/run2/best.ckpt" "$work/run2.npz"
/usr/bin/python3 "$here/bn_check.py" predict "$ser" "$work/run2" "$work/run2.npz" \
  "$work/features.serf" || fail "export vs predict"
echo "C: info, export into torch (strict) and predict agree"
