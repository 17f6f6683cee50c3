#!/usr/bin/env bash
# Reproduces the model zoo from a clean checkout: teacher, students + channel reduction, export.
# Needs Debian's python3-torch (PYTHON overrides the interpreter) and the Fashion-MNIST training
# set (dataset-fashion-mnist, or FASHION_MNIST_DIR pointing at train-*-ubyte.gz).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-/usr/bin/python3}"
start=$(date +%s)
"$PY" training/train_teacher.py
"$PY" training/train_students.py
"$PY" training/export_zoo.py
echo "zoo trained and exported in $(( $(date +%s) - start )) s"
