#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing the job array:
#
#   deploy/slurm/local-cluster.sh start DIR [CTLD_PORT SLURMD_PORT]   # then: export SLURM_CONF=DIR/slurm.conf
#   deploy/slurm/local-cluster.sh stop DIR
#
# Everything lives in DIR: a fresh munge key and socket, slurm.conf, state, spool, logs, pid
# files. Needs Debian's slurm-wlm and munge (slurmctld, slurmd, munged, sinfo) and root (the
# daemons run as root: SlurmUser=root, ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
# so no cgroups are needed). `stop` ends only the daemons whose pid files are in DIR.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop DIR [CTLD_PORT SLURMD_PORT]" >&2
  exit 2
fi

stop() {
  local f pid
  for f in slurmd slurmctld munged; do
    if [[ -s "$dir/$f.pid" ]]; then
      pid=$(cat "$dir/$f.pid")
      kill "$pid" 2>/dev/null || true
      # Wait for it to finish (slurmctld saves its state on the way out).
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$dir/$f.pid"
    fi
  done
}

if [[ "$cmd" == stop ]]; then
  stop
  exit 0
fi
[[ "$cmd" == start ]] || { echo "$0: unknown command '$cmd' (start or stop)" >&2; exit 2; }

for bin in munged slurmctld slurmd sinfo; do
  command -v "$bin" >/dev/null || { echo "$0: $bin not found (apt-get install slurm-wlm munge)" >&2; exit 3; }
done
[[ "$(id -u)" == 0 ]] || { echo "$0: the daemons run as root here; run as root" >&2; exit 3; }

ctld_port=${3:-16817}
slurmd_port=${4:-16818}
mkdir -p "$dir/state" "$dir/spool"
dir=$(cd "$dir" && pwd)
trap 'stop' ERR

# munge: its own key and socket, so the system's munge (if any) is left alone.
head -c 1024 /dev/urandom >"$dir/munge.key"
chmod 600 "$dir/munge.key"
munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" --log-file="$dir/munged.log" \
  --pid-file="$dir/munged.pid" --seed-file="$dir/munged.seed"

cat >"$dir/slurm.conf" <<CONF
ClusterName=splitsim
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=splitsimnode NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N splitsimnode

# Ready when the node reports idle.
for _ in $(seq 1 60); do
  if [[ "$(sinfo -h -o %t 2>/dev/null || true)" == idle ]]; then
    echo "$SLURM_CONF"
    exit 0
  fi
  sleep 0.5
done
echo "$0: the node did not become idle in 30 s; logs in $dir (slurmctld.log, slurmd.log, munged.log)" >&2
sinfo >&2 || true
stop
exit 4
