#!/usr/bin/env bash
# A sharded splitsim measurement on Slurm: an array of N tasks (measure-array.sbatch), then a
# merge job that starts when all of them have succeeded and writes measurements.csv and
# measurements.json into OUT, the files one unsharded `splitsim measure` writes.
#
#   deploy/slurm/measure.sh [-n N] [--partials DIR] [--out OUT] [--wait] [--sbatch "OPTS"] -- MEASURE_ARGS...
#   e.g. deploy/slurm/measure.sh -n 8 --out results/imagenet -- --scenario scenarios/imagenet-lte.yaml
#
# -n N         tasks (default 4)            --partials DIR  partial files (default OUT/partials)
# --out OUT    results (default results/measure)
# --wait       wait for the merge and exit with its status (sbatch --wait)
# --sbatch     extra sbatch options for both jobs (partition, account, time, ...)
# SPLITSIM and SPLITSIM_CACHE_DIR are passed on to the jobs (see measure-array.sbatch).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
n=4 out=results/measure partials='' wait=0 extra=''
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) n=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --partials) partials=$2; shift 2 ;;
    --wait) wait=1; shift ;;
    --sbatch) extra=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "measure.sh: unknown option '$1' (measure options go after --)" >&2; exit 2 ;;
  esac
done
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "measure.sh: -n: expected a positive integer, got '$n'" >&2; exit 2; }
partials=${partials:-$out/partials}
mkdir -p "$partials"
partials=$(cd "$partials" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Stale partials of an earlier run would be refused by merge (another run) or mixed in.
rm -f "$partials"/measurements.shard-*-of-*.json
root=$(cd "$here/../.." && pwd)
if [[ -n "${SPLITSIM:-}" ]]; then merge_cmd="$SPLITSIM"
elif command -v splitsim >/dev/null; then merge_cmd=splitsim
else merge_cmd="node $root/bin/splitsim.js"
fi
export SPLITSIM="$merge_cmd" SPLITSIM_PARTIALS="$partials"
# shellcheck disable=SC2086
array=$(sbatch --parsable $extra --array="0-$((n - 1))" --output="$partials/task-%a.out" "$here/measure-array.sbatch" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=(sbatch --parsable $extra --job-name=splitsim-merge --dependency="afterok:$array" --kill-on-invalid-dep=yes
  --output="$partials/merge.out" --wrap="$merge_cmd merge '$partials' --out '$out'")
if [[ $wait == 1 ]]; then
  echo "measure.sh: array job $array ($n tasks), then the merge; waiting" >&2
  status=0
  "${merge[@]}" --wait >/dev/null || status=$?
  [[ $status == 0 ]] || { echo "measure.sh: the merge did not succeed (exit $status); task logs in $partials" >&2; cat "$partials/merge.out" >&2 2>/dev/null || true; }
  exit $status
fi
job=$("${merge[@]}")
echo "submitted array job $array ($n tasks) and merge job ${job%%;*}; results in $out"
