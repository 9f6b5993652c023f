#!/usr/bin/env bash
# tests/slurm_cluster.sh start|stop|status STATE_DIR: a real one-node SLURM on localhost for tests.
#
#  start   writes STATE_DIR/slurm.conf for this machine (node line from `slurmd -C`,
#          proctrack/linuxproc, task/none, no accounting, SlurmUser=root, short scheduler and
#          requeue intervals), starts munged (own key), slurmctld and slurmd in the foreground
#          mode as background children (so their PIDs are exactly known; stored in
#          STATE_DIR/pids/), waits until `sinfo` shows the node idle, and writes
#          STATE_DIR/env (`export SLURM_CONF=...`; source it before sbatch/squeue/...).
#          The same export line is printed on stdout.
#  stop    cancels every job of this cluster, waits for them to leave, stops exactly the
#          daemons started by `start` (by the PIDs it recorded), kills leftover job processes
#          of this cluster (processes whose environment holds this SLURM_CONF and a
#          SLURM_JOB_ID: ranks orphaned by proctrack/linuxproc), and waits until all are gone.
#  status  prints sinfo/squeue of the cluster.
#
# The daemons use the fixed SLURM ports 6817/6818: one such cluster per machine. `start` first
# stops daemons left behind by an earlier `start` on the same STATE_DIR (e.g. a killed test),
# and refuses with a clear message if another SLURM holds the ports.
# Reference: slurm.conf(5), slurmd(8), slurmctld(8), munged(8) of Debian 12 (slurm-wlm 22.05).
set -uo pipefail

die() { echo "slurm_cluster: error: $*" >&2; exit 1; }
[[ $# == 2 ]] || die "usage: $0 start|stop|status STATE_DIR"
cmd=$1
state=$(mkdir -p "$2" && cd "$2" && pwd) || die "cannot create state directory $2"
conf=$state/slurm.conf
piddir=$state/pids
daemons=(slurmd slurmctld munged)   # stop order

alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }
pid_of() { cat "$piddir/$1.pid" 2>/dev/null; }

# Processes of jobs of this cluster: environment holds our SLURM_CONF and a SLURM_JOB_ID.
job_procs() {
  local p env
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" ]] && continue
    env=$(tr "\\0" "\\n" 2>/dev/null < "/proc/$p/environ") || continue
    grep -qxF "SLURM_CONF=$conf" <<< "$env" && grep -q '^SLURM_JOB_ID=' <<< "$env" && echo "$p"
  done
}

wait_gone() {  # wait_gone SECONDS PID...: 0 when all are gone
  local t=$1; shift
  local end=$((SECONDS + t)) p left
  while :; do
    left=0
    for p in "$@"; do alive "$p" && left=1; done
    ((left == 0)) && return 0
    ((SECONDS >= end)) && return 1
    sleep 0.2
  done
}

stop_cluster() {
  local p d pids=()
  if [[ -f $conf ]] && alive "$(pid_of slurmctld)"; then
    export SLURM_CONF=$conf
    local jobs
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
    if [[ -n $jobs ]]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null
      local end=$((SECONDS + 30))
      while [[ -n $(squeue -h -o %A 2>/dev/null) ]] && ((SECONDS < end)); do sleep 0.5; done
    fi
  fi
  for d in "${daemons[@]}"; do
    p=$(pid_of "$d")
    if alive "$p"; then
      kill -TERM "$p" 2>/dev/null
      wait_gone 15 "$p" || { kill -KILL "$p" 2>/dev/null; wait_gone 5 "$p"; }
      alive "$p" && echo "slurm_cluster: warning: $d (pid $p) did not stop" >&2
    fi
    rm -f "$piddir/$d.pid"
  done
  mapfile -t pids < <(job_procs)
  if ((${#pids[@]})); then
    echo "slurm_cluster: killing leftover job processes: ${pids[*]}" >&2
    kill -TERM "${pids[@]}" 2>/dev/null
    wait_gone 10 "${pids[@]}" || { kill -KILL "${pids[@]}" 2>/dev/null; wait_gone 5 "${pids[@]}"; }
  fi
  if [[ -f $state/munge-dir ]]; then rm -rf "$(cat "$state/munge-dir")"; rm -f "$state/munge-dir"; fi
  return 0
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_cluster() {
  local need
  for need in munged mungekey slurmctld slurmd sinfo sbatch srun squeue scancel scontrol; do
    command -v "$need" >/dev/null || die "$need not found (Debian: apt-get install slurmctld slurmd slurm-client munge)"
  done
  [[ $(id -u) == 0 ]] || die "must run as root (slurmd starts job steps as their user)"
  stop_cluster   # anything an earlier start on this STATE_DIR left behind
  local port
  for port in 6817 6818; do
    port_busy $port && die "port $port is in use: another SLURM runs on this machine (one test cluster per machine)"
  done
  rm -rf "$state/spool" "$state/ctld" "$state/log" "$piddir" "$state/munge"
  mkdir -p "$state/spool" "$state/ctld" "$state/log" "$piddir" || die "cannot create directories in $state"

  # munged: own key; its socket directory must be mode 755 (munged refuses 700) and the
  # socket path must fit sockaddr_un (108 bytes), else a short directory under /tmp is used.
  local mdir=$state/munge
  if ((${#mdir} > 90)); then
    mdir=$(mktemp -d /tmp/ser-munge.XXXXXX) || die "mktemp"
    echo "$mdir" > "$state/munge-dir"
  fi
  { mkdir -p "$mdir" && chmod 755 "$mdir"; } || die "cannot create $mdir"
  local sock=$mdir/munge.socket
  mungekey --create --force --keyfile="$mdir/munge.key" >/dev/null 2>&1 \
    || { dd if=/dev/urandom of="$mdir/munge.key" bs=1024 count=1 status=none && chmod 600 "$mdir/munge.key"; } \
    || die "cannot create a munge key in $mdir"
  munged -F --force --socket="$sock" --key-file="$mdir/munge.key" --pid-file="$mdir/munged.pid" \
         --log-file="$state/log/munged.log" --seed-file="$mdir/munged.seed" \
         </dev/null >>"$state/log/munged.out" 2>&1 &
  echo $! > "$piddir/munged.pid"
  local end=$((SECONDS + 20))
  until [[ -S $sock ]]; do
    alive "$(pid_of munged)" || die "munged exited: $(tail -n 3 "$state/log/munged.log" "$state/log/munged.out" 2>/dev/null)"
    ((SECONDS < end)) || die "munged did not create $sock within 20 s"
    sleep 0.1
  done

  # slurm.conf for this one node.
  local node host
  node=$(slurmd -C 2>/dev/null | head -1)
  [[ $node == NodeName=* ]] || die "slurmd -C did not print a node line: $node"
  host=${node#NodeName=}; host=${host%% *}
  cat > "$conf" <<EOF
# Generated by tests/slurm_cluster.sh: a one-node test cluster in $state
ClusterName=sertest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/ctld/slurmctld.pid
SlurmdPidFile=$state/spool/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
KillWait=5
InactiveLimit=0
MinJobAge=300
ReturnToService=2
JobRequeue=1
MailProg=/bin/true
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$conf
  echo "export SLURM_CONF=$conf" > "$state/env"

  slurmctld -D -i </dev/null >>"$state/log/slurmctld.out" 2>&1 &
  echo $! > "$piddir/slurmctld.pid"
  slurmd -D </dev/null >>"$state/log/slurmd.out" 2>&1 &
  echo $! > "$piddir/slurmd.pid"

  local st=""
  end=$((SECONDS + 60))
  while :; do
    for d in munged slurmctld slurmd; do
      alive "$(pid_of $d)" || { stop_cluster; die "$d exited during start; see $state/log/$d.log and $d.out:
$(tail -n 5 "$state/log/$d.log" "$state/log/$d.out" 2>/dev/null)"; }
    done
    st=$(sinfo -h -n "$host" -o %t 2>/dev/null)
    [[ $st == idle ]] && break
    if ((SECONDS >= end)); then
      stop_cluster
      die "node $host not idle within 60 s (sinfo state '${st:-none}'); logs in $state/log"
    fi
    sleep 0.3
  done
  echo "export SLURM_CONF=$conf"
}

case $cmd in
  start) start_cluster ;;
  stop) stop_cluster ;;
  status) export SLURM_CONF=$conf; sinfo; squeue ;;
  *) die "usage: $0 start|stop|status STATE_DIR" ;;
esac
