#!/usr/bin/env bash
# Trains and exports the SC2 benchmark's other methods (issue 18): neural input codecs
# (factorized prior, scale hyperprior), End-to-End and hyperprior students. Needs the committed
# teacher (models/teacher), Debian's python3-torch and the Fashion-MNIST training set, as
# train.sh. One model per process, TRAIN_JOBS (default 2) at a time, one thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-/usr/bin/python3}"
start=$(date +%s)
TRAIN_THREADS="${TRAIN_THREADS:-2}" "$PY" training/train_methods.py prepare
"$PY" training/train_methods.py names | xargs -P "${TRAIN_JOBS:-2}" -I{} env TRAIN_THREADS=1 "$PY" training/train_methods.py train {}
for name in $("$PY" training/train_methods.py names); do
  test -f "${ZOO_CKPT_DIR:-training/checkpoints}/$name.pt" || { echo "training $name failed" >&2; exit 1; }
done
"$PY" training/export_methods.py
echo "methods trained and exported in $(( $(date +%s) - start )) s"
