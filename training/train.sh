#!/usr/bin/env bash
# Reproduces the model zoo from a clean checkout: teacher, students + channel reduction, export.
# Needs Debian's python3-torch (PYTHON overrides the interpreter) and the Fashion-MNIST training
# set (dataset-fashion-mnist, or FASHION_MNIST_DIR pointing at train-*-ubyte.gz).
# The students train one per process, TRAIN_JOBS (default 2) at a time, one thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-/usr/bin/python3}"
start=$(date +%s)
"$PY" training/train_teacher.py
TRAIN_THREADS="${TRAIN_THREADS:-2}" "$PY" training/train_students.py prepare
"$PY" training/train_students.py names | xargs -P "${TRAIN_JOBS:-2}" -I{} env TRAIN_THREADS=1 "$PY" training/train_students.py train {}
for name in $("$PY" training/train_students.py names); do
  test -f "${ZOO_CKPT_DIR:-training/checkpoints}/$name.pt" || { echo "training $name failed" >&2; exit 1; }
done
"$PY" training/export_zoo.py
echo "zoo trained and exported in $(( $(date +%s) - start )) s"
