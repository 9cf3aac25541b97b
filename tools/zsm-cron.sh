#!/usr/bin/env bash
# Cron wrapper for the zsm daemon. Run it every minute from cron:
#
#   * * * * * /opt/zsm/tools/zsm-cron.sh
#
# It exits quietly when a daemon already runs (flock on a lock file), otherwise starts `zsm supervise`
# (which restarts a crashed daemon within seconds instead of waiting for the next cron minute) with its
# output appended to a log file that is rotated when it grows past ZSM_LOG_MAX_BYTES (keeping
# ZSM_LOG_KEEP old files). The daemon itself also holds a lock on its database, so even a second start
# by hand cannot make two daemons drive one battery.
set -u

ZSM_HOME="${ZSM_HOME:-$(cd "$(dirname "$0")/.." && pwd)}"
ZSM_BIN="${ZSM_BIN:-$ZSM_HOME/.venv/bin/zsm}"
ZSM_CONFIG="${ZSM_CONFIG:-/etc/zsm/zsm.toml}"
ZSM_STATE_DIR="${ZSM_STATE_DIR:-/var/lib/zsm}"
ZSM_LOG="${ZSM_LOG:-$ZSM_STATE_DIR/zsm.log}"
ZSM_LOG_MAX_BYTES="${ZSM_LOG_MAX_BYTES:-5000000}"
ZSM_LOG_KEEP="${ZSM_LOG_KEEP:-5}"
LOCK="${ZSM_CRON_LOCK:-$ZSM_STATE_DIR/zsm-cron.lock}"

mkdir -p "$ZSM_STATE_DIR" "$(dirname "$ZSM_LOG")"

exec 9>"$LOCK"
if ! flock -n 9; then
  exit 0  # a daemon started by an earlier run still holds the lock: nothing to do
fi

rotate() {
  [ -f "$ZSM_LOG" ] || return 0
  local size
  size=$(stat -c %s "$ZSM_LOG" 2>/dev/null || echo 0)
  [ "$size" -ge "$ZSM_LOG_MAX_BYTES" ] || return 0
  local i
  for ((i = ZSM_LOG_KEEP - 1; i >= 1; i--)); do
    if [ -f "$ZSM_LOG.$i" ]; then mv -f "$ZSM_LOG.$i" "$ZSM_LOG.$((i + 1))"; fi
  done
  mv -f "$ZSM_LOG" "$ZSM_LOG.1"
}
rotate

export ZSM_CONFIG
# The lock (fd 9) stays held by the daemon for as long as it runs.
"$ZSM_BIN" supervise >>"$ZSM_LOG" 2>&1
status=$?
echo "$(date -u +%FT%TZ) zsm-cron: daemon exited with status $status" >>"$ZSM_LOG"
exit "$status"
