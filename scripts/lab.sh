#!/usr/bin/env bash
# The multi-host lab: N "hosts" on one Linux machine, each a network namespace with its own
# Docker engine and (optionally) its own Skiff agent, joined by a bridge on the real host.
#
#   lab.sh up N [--server URL --join-token TOKEN]   create hosts 1..N (after cleaning up any old lab);
#                                                   with --server, start an agent on each too
#   lab.sh agents --server URL --join-token TOKEN   start an agent on every host that has none
#   lab.sh start-agent I | kill-agent I             start / SIGKILL host I's agent
#   lab.sh kill-host I                              SIGKILL everything of host I at once: agent,
#                                                   dockerd, containerd, shims and its containers
#                                                   (the instant in /run/skiff-lab/hI/killed.at)
#   lab.sh start-host I                             start host I's engine again (and its agent, if
#                                                   agents were started before)
#   lab.sh partition I | heal I                     take host I's link down / up
#   lab.sh status                                   hosts, links, engines, agents
#   lab.sh down                                     remove everything; idempotent
#
# Addresses: bridge skiff-lab0 10.231.0.1/24 on the host; host I is netns skiff-lab-hI at
# 10.231.0.(10+I) (veth slhI on the bridge, eth0 inside), its docker0 is 10.232.I.1/24. A server on
# the machine listening on 10.231.0.1 (or 0.0.0.0) is reachable from the hosts at
# https://10.231.0.1:PORT (agents always speak mutual TLS; the join token carries the CA digest). Host I's engine: unix:///run/skiff-lab/hI/docker.sock.
# Host I's agent is node lab-hI, labelled zone=zI (each host a zone of its own, so a spread
# service of 3N replicas runs N on each of 3 hosts) and lab-host=hI.
#
# Processes are found by their pidfiles (and, for what they leave behind, by the lab's network
# namespaces and cgroups), never by a process name; every PID is checked to be the lab's before it
# is signalled. Needs root, iproute2, iptables, nsenter and docker.io's dockerd.
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
BRIDGE=skiff-lab0
SUBNET=10.231.0
GATEWAY="$SUBNET.1"
NS_PREFIX=skiff-lab-h
VETH_PREFIX=slh
STATE=/run/skiff-lab
DATA=/var/lib/skiff-lab
IMAGES=(skiff-demo:v1 skiff-demo:v2 skiff-demo:latest skiff-demo:v1-noterm skiff-demo:v2-noterm)
MAX_HOSTS=32
ENGINE_TIMEOUT=${SKIFF_LAB_ENGINE_TIMEOUT:-60}
AGENT_TIMEOUT=${SKIFF_LAB_AGENT_TIMEOUT:-30}
STOP_TIMEOUT=${SKIFF_LAB_STOP_TIMEOUT:-20}

say() { printf '%s\n' "$*"; }
warn() { printf 'lab: %s\n' "$*" >&2; }
die() {
  warn "$*"
  exit 1
}

usage() {
  sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# --- naming -----------------------------------------------------------------------------------

ns() { echo "$NS_PREFIX$1"; }
veth() { echo "$VETH_PREFIX$1"; }
address() { echo "$SUBNET.$((10 + $1))"; }
hstate() { echo "$STATE/h$1"; }
hdata() { echo "$DATA/h$1"; }
sock() { echo "$STATE/h$1/docker.sock"; }
dk() {
  local i=$1
  shift
  docker -H "unix://$(sock "$i")" "$@"
}

check_index() {
  [[ ${1:-} =~ ^[1-9][0-9]*$ ]] && [ "$1" -le "$MAX_HOSTS" ] || die "not a host number (1..$MAX_HOSTS): ${1:-}"
}

need_host() {
  check_index "$1"
  [ -e "/var/run/netns/$(ns "$1")" ] || die "host $1 does not exist (no netns $(ns "$1")); run: lab.sh up N"
}

need_root() {
  [ "$(id -u)" = 0 ] || die "must run as root (network namespaces, bridges, dockerd)"
}

# Every host number that has anything left: a netns, a link, a state or data directory, a cgroup.
known_hosts() {
  {
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$NS_PREFIX\([0-9]\{1,\}\)\$/\1/p"
    ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sed -n "s/^$VETH_PREFIX\([0-9]\{1,\}\)\$/\1/p"
    for dir in "$STATE"/h* "$DATA"/h* /sys/fs/cgroup/*/"$NS_PREFIX"*; do
      [ -e "$dir" ] || continue
      basename "$dir" | sed -n -e 's/^h\([0-9]\{1,\}\)$/\1/p' -e "s/^$NS_PREFIX\([0-9]\{1,\}\)\$/\1/p"
    done
  } | sort -un
}

# --- processes --------------------------------------------------------------------------------

# These three run on every PID a kill-host looks at, so they use bash builtins only: a host's
# thirty-odd processes were checked with several sed, tr, grep and stat each, a few hundred ms on
# a loaded machine between the host's agent dying and its replicas.
alive() {
  local pid=$1 stat state
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  state=${stat##*) }
  state=${state%% *}
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Is PID a process of lab host I? Its command line names the host's directories, or it runs in the
# host's cgroup or network namespace. Guards against signalling a reused PID.
ours() {
  local pid=$1 i=$2 nsfile args=() lines=()
  alive "$pid" || return 1
  { mapfile -d '' args <"/proc/$pid/cmdline"; } 2>/dev/null || true
  [[ " ${args[*]} " == *"/skiff-lab/h$i/"* ]] && return 0
  { mapfile -t lines <"/proc/$pid/cgroup"; } 2>/dev/null || true
  [[ $'\n'"${lines[*]}"$'\n' == *":/$NS_PREFIX$i/"* ]] && return 0
  nsfile="/var/run/netns/$NS_PREFIX$i"
  # -ef: the same device and inode (the netns file is a bind mount of the namespace's nsfs inode).
  [ -e "$nsfile" ] && [ "/proc/$pid/ns/net" -ef "$nsfile" ] && return 0
  return 1
}

pid_from() {
  local file=$1 pid=""
  { read -r pid <"$file"; } 2>/dev/null || [ -n "$pid" ] || return 1
  pid=${pid//[^0-9]/}
  [ -n "$pid" ] && echo "$pid"
}

# wait_gone SECONDS PID... : true when all are gone before the deadline.
wait_gone() {
  local deadline=$((SECONDS + $1)) pid left
  shift
  while :; do
    left=0
    for pid in "$@"; do alive "$pid" && left=1; done
    [ "$left" = 0 ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}

# stop_pids SIGNAL SECONDS PID... : signal, wait, then SIGKILL what is left and wait for it.
stop_pids() {
  local sig=$1 timeout=$2 pid
  shift 2
  [ $# -gt 0 ] || return 0
  for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
  wait_gone "$timeout" "$@" && return 0
  for pid in "$@"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null || true; done
  wait_gone 10 "$@" || warn "processes still alive after SIGKILL: $*"
}

agent_pid() {
  local pid
  pid=$(pid_from "$(hstate "$1")/agent.pid") && ours "$pid" "$1" && echo "$pid"
}

dockerd_pid() {
  local pid file
  for file in "$(hstate "$1")/docker.pid" "$(hstate "$1")/dockerd.launch.pid"; do
    pid=$(pid_from "$file") && ours "$pid" "$1" && {
      echo "$pid"
      return 0
    }
  done
  return 1
}

# The processes of host I's containers: they sit in the cgroup given by --cgroup-parent.
container_pids() {
  local i=$1
  cat /sys/fs/cgroup/pids/"$NS_PREFIX$i"/*/cgroup.procs /sys/fs/cgroup/pids/"$NS_PREFIX$i"/cgroup.procs \
    2>/dev/null | sort -un
}

# Everything left of host I once its dockerd is gone: containerd, shims, docker-proxy (all in the
# host's netns), container processes (cgroup), and pids that containerd's shims recorded.
leftover_pids() {
  local i=$1 pid file
  {
    [ -e "/var/run/netns/$(ns "$i")" ] && ip netns pids "$(ns "$i")" 2>/dev/null
    container_pids "$i"
    for file in "$(hstate "$i")"/exec/containerd/containerd.pid \
      "$(hstate "$i")"/exec/containerd/daemon/io.containerd.runtime.v2.task/*/*/{shim,init}.pid; do
      pid_from "$file" 2>/dev/null || true
    done
  } | sort -un | while read -r pid; do
    [ "$pid" != "$$" ] && ours "$pid" "$i" && echo "$pid"
  done
}

# Killed shims leave their sockets in containerd's shared /run/containerd/s; the bundles of host
# I name them (the file "address"). Only called once the host's shims are dead.
remove_shim_sockets() {
  local file socket
  for file in "$(hstate "$1")"/exec/containerd/daemon/io.containerd.runtime.v2.task/*/*/address; do
    [ -r "$file" ] || continue
    socket=$(sed 's|^unix://||' "$file")
    case $socket in /run/containerd/s/*) rm -f "$socket" ;; esac
  done
}

kill_containers() {
  local i=$1 pid
  for pid in $(container_pids "$i"); do ours "$pid" "$i" && kill -KILL "$pid" 2>/dev/null || true; done
}

# Runs "$@" detached (own session, stdin /dev/null, output to LOG) inside host I's netns; the PID
# written to PIDFILE is the command's own (every step execs).
launch() {
  local i=$1 pidfile=$2 log=$3
  shift 3
  setsid bash -c 'echo $$ >"$0"; exec nsenter --net="$1" -- "${@:2}"' \
    "$pidfile" "/var/run/netns/$(ns "$i")" "$@" </dev/null >>"$log" 2>&1 &
}

# --- engines ----------------------------------------------------------------------------------

start_engine() {
  local i=$1 st data
  st=$(hstate "$i")
  data=$(hdata "$i")
  mkdir -p "$st/exec" "$data/docker"
  # Our own config file: nothing from /etc/docker/daemon.json leaks in, and each engine gets its
  # own identity key (by default all engines share /etc/docker/key.json, hence one engine ID).
  printf '{\n  "deprecated-key-path": "%s"\n}\n' "$data/key.json" >"$data/daemon.json"
  # A killed host's containerd may linger as a zombie until PID 1 reaps it; dockerd takes a
  # containerd.pid whose PID still answers kill -0 for a running containerd and waits for it in
  # vain ("timeout waiting for containerd to start"). Callers have killed the host's processes.
  rm -f "$st/docker.pid" "$st/dockerd.launch.pid" "$st/docker.sock" "$st/exec/containerd/containerd.pid"
  launch "$i" "$st/dockerd.launch.pid" "$st/dockerd.log" \
    dockerd \
    --config-file "$data/daemon.json" \
    --data-root "$data/docker" \
    --exec-root "$st/exec" \
    --pidfile "$st/docker.pid" \
    -H "unix://$(sock "$i")" \
    --bip "10.232.$i.1/24" \
    --iptables=true \
    --cgroup-parent "/$NS_PREFIX$i"
}

wait_engine() {
  local i=$1 deadline=$((SECONDS + ENGINE_TIMEOUT)) pid
  while :; do
    if [ -S "$(sock "$i")" ] && timeout 10 docker -H "unix://$(sock "$i")" info >/dev/null 2>&1; then
      return 0
    fi
    pid=$(pid_from "$(hstate "$i")/dockerd.launch.pid") || true
    if [ -n "$pid" ] && ! alive "$pid"; then
      warn "host $i: dockerd exited; last lines of $(hstate "$i")/dockerd.log:"
      tail -n 20 "$(hstate "$i")/dockerd.log" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "host $i: engine not answering after ${ENGINE_TIMEOUT}s; see $(hstate "$i")/dockerd.log"
      return 1
    fi
    sleep 0.2
  done
}

save_images() {
  local tar="$STATE/images.tar" image
  for image in "${IMAGES[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 ||
      die "image $image is not in the default engine; build it first: npm run images"
  done
  timeout 120 docker save -o "$tar" "${IMAGES[@]}"
}

load_images() {
  local i=$1
  timeout 120 docker -H "unix://$(sock "$i")" load -q -i "$STATE/images.tar" >/dev/null
}

# --- agents -----------------------------------------------------------------------------------

start_agent() {
  local i=$1 st server token
  st=$(hstate "$i")
  [ -r "$STATE/agents.env" ] || die "no agent settings: run lab.sh agents --server URL --join-token TOKEN first"
  server=$(sed -n 's/^server=//p' "$STATE/agents.env")
  token=$(sed -n 's/^token=//p' "$STATE/agents.env")
  if agent_pid "$i" >/dev/null; then
    say "host $i: agent already running (pid $(agent_pid "$i"))"
    return 0
  fi
  mkdir -p "$(hdata "$i")/agent"
  rm -f "$st/agent.pid"
  printf '\n--- %s agent starting\n' "$(date -Is)" >>"$st/agent.log"
  launch "$i" "$st/agent.pid" "$st/agent.log" \
    "$ROOT/bin/skiff" agent \
    --server "$server" \
    --join-token="$token" \
    --name "lab-h$i" \
    --address "$(address "$i")" \
    --labels "zone=z$i,lab-host=h$i" \
    --docker-host "unix://$(sock "$i")" \
    --data-dir "$(hdata "$i")/agent" \
    ${SKIFF_LAB_HTTP_PROXY:+--http-proxy "$SKIFF_LAB_HTTP_PROXY"}
}

wait_agent() {
  local i=$1 st deadline=$((SECONDS + AGENT_TIMEOUT)) pid
  st=$(hstate "$i")
  while :; do
    pid=$(pid_from "$st/agent.pid") || true
    if [ -n "$pid" ] && ! alive "$pid"; then
      warn "host $i: agent exited; last lines of $st/agent.log:"
      tail -n 20 "$st/agent.log" >&2 || true
      return 1
    fi
    # The log restarts at the marker start_agent wrote; "started" means it read its engine.
    if [ -n "$pid" ] && awk '/^--- .* agent starting$/ {b = ""} {b = b $0 "\n"} END {printf "%s", b}' "$st/agent.log" |
      grep -q 'skiff agent started'; then
      say "host $i: agent lab-h$i running (pid $pid, log $st/agent.log)"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "host $i: agent not started after ${AGENT_TIMEOUT}s; see $st/agent.log"
      return 1
    fi
    sleep 0.2
  done
}

kill_agent() {
  local i=$1 pid
  if pid=$(agent_pid "$i"); then
    stop_pids KILL 5 "$pid"
    say "host $i: agent killed (pid $pid)"
  else
    say "host $i: no agent running"
  fi
  rm -f "$(hstate "$i")/agent.pid"
}

parse_agent_flags() {
  server=""
  token=${SKIFF_JOIN_TOKEN:-}
  while [ $# -gt 0 ]; do
    case $1 in
    --server) server=${2:?--server needs a URL} && shift 2 ;;
    --server=*) server=${1#*=} && shift ;;
    --join-token) token=${2:?--join-token needs a token} && shift 2 ;;
    --join-token=*) token=${1#*=} && shift ;;
    *) die "unknown option: $1" ;;
    esac
  done
}

save_agent_settings() {
  [ -n "$server" ] || die "--server URL is required"
  [ -n "$token" ] || die "--join-token TOKEN (or SKIFF_JOIN_TOKEN) is required"
  mkdir -p "$STATE"
  (
    umask 077
    printf 'server=%s\ntoken=%s\n' "$server" "$token" >"$STATE/agents.env"
  )
}

start_agents() {
  local i failed=0
  for i in "$@"; do start_agent "$i"; done
  for i in "$@"; do wait_agent "$i" || failed=1; done
  return $failed
}

lab_hosts() {
  ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$NS_PREFIX\([0-9]\{1,\}\)\$/\1/p" | sort -n
}

# --- network ----------------------------------------------------------------------------------

forward_chain() {
  if iptables -n -L DOCKER-USER >/dev/null 2>&1; then echo DOCKER-USER; else echo FORWARD; fi
}

setup_bridge() {
  ip link add "$BRIDGE" type bridge
  ip addr add "$GATEWAY/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  if [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then
    echo 0 >"$STATE/ip_forward.before"
    sysctl -q -w net.ipv4.ip_forward=1
  fi
  # dockerd sets the FORWARD policy to DROP; traffic between lab hosts crosses the bridge.
  local chain
  chain=$(forward_chain)
  iptables -C "$chain" -i "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I "$chain" -i "$BRIDGE" -j ACCEPT
  iptables -C "$chain" -o "$BRIDGE" -j ACCEPT 2>/dev/null || iptables -I "$chain" -o "$BRIDGE" -j ACCEPT
}

setup_host() {
  local i=$1 n v
  n=$(ns "$i")
  v=$(veth "$i")
  ip netns add "$n"
  ip link add "$v" type veth peer name eth0 netns "$n"
  ip link set "$v" master "$BRIDGE" up
  ip -n "$n" link set lo up
  ip -n "$n" addr add "$(address "$i")/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" route add default via "$GATEWAY"
  mkdir -p "$(hstate "$i")" "$(hdata "$i")"
}

# --- commands ---------------------------------------------------------------------------------

cmd_up() {
  local n=${1:-}
  [[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -le "$MAX_HOSTS" ] || die "usage: lab.sh up N [--server URL --join-token TOKEN] (N in 1..$MAX_HOSTS)"
  shift
  parse_agent_flags "$@"
  [ -z "$server" ] || [ -n "$token" ] || die "--join-token TOKEN (or SKIFF_JOIN_TOKEN) is required with --server"
  command -v dockerd >/dev/null || die "dockerd is not installed (apt-get install docker.io)"
  command -v nsenter >/dev/null || die "nsenter is not installed (util-linux)"

  local started=$SECONDS
  if [ -n "$(known_hosts)" ] || ip link show "$BRIDGE" >/dev/null 2>&1; then
    say "removing the previous lab first"
    cmd_down >/dev/null || die "could not remove the previous lab; see lab.sh status"
  fi

  # From here on, a failure or an interrupt removes whatever was made.
  up_done=0
  trap 'rc=$?; if [ "$up_done" != 1 ]; then warn "up failed or interrupted; cleaning up"; trap "" INT TERM; cmd_down >&2 || true; fi; exit $rc' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  mkdir -p "$STATE" "$DATA"
  save_images
  setup_bridge
  local i pids=() failed=0
  for i in $(seq 1 "$n"); do setup_host "$i"; done
  for i in $(seq 1 "$n"); do start_engine "$i"; done
  for i in $(seq 1 "$n"); do wait_engine "$i" || failed=1; done
  [ "$failed" = 0 ] || exit 1
  for i in $(seq 1 "$n"); do
    load_images "$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  [ "$failed" = 0 ] || die "loading images into the lab engines failed"
  say "lab up: $n hosts in $((SECONDS - started))s"
  for i in $(seq 1 "$n"); do
    say "  host $i: netns $(ns "$i"), address $(address "$i"), engine unix://$(sock "$i")"
  done
  if [ -n "$server" ]; then
    save_agent_settings
    start_agents $(seq 1 "$n") || exit 1
  else
    say "no agents started; to join the hosts to a server listening on $GATEWAY (or 0.0.0.0):"
    say "  npm run lab -- agents --server https://$GATEWAY:PORT --join-token \"\$(cat DIR/join.token)\""
  fi
  up_done=1
}

cmd_agents() {
  parse_agent_flags "$@"
  save_agent_settings
  local hosts
  hosts=$(lab_hosts)
  [ -n "$hosts" ] || die "no lab hosts; run lab.sh up N first"
  # shellcheck disable=SC2086
  start_agents $hosts
}

cmd_kill_host() {
  local i=$1 pids=() pid
  need_host "$i"
  # A host dies all at once: everything of it is found first (agent, dockerd, containerd, shims,
  # proxies, the containers' processes), then signalled by one kill. Killing the agent and dockerd
  # first and looking for the rest after (a few hundred ms of lookups on a loaded machine) left
  # the host's replicas serving for 0.3-0.6 s after its agent had died, which no real host does.
  pid=$(agent_pid "$i") && pids+=("$pid")
  pid=$(dockerd_pid "$i") && pids+=("$pid")
  mapfile -t -O "${#pids[@]}" pids < <(leftover_pids "$i")
  # The instant of the kill, epoch seconds (bench:failover times the server's notice from it).
  printf '%s\n' "$EPOCHREALTIME" >"$STATE/h$i/killed.at"
  [ ${#pids[@]} -eq 0 ] || stop_pids KILL 5 "${pids[@]}"
  # Then whatever was not there a moment ago (a shim or proxy being forked as the kill landed).
  local round
  for round in 1 2 3; do
    mapfile -t pids < <(leftover_pids "$i")
    [ ${#pids[@]} -gt 0 ] || break
    stop_pids KILL 5 "${pids[@]}"
  done
  remove_shim_sockets "$i"
  rm -f "$(hstate "$i")/agent.pid"
  say "host $i: killed (agent, engine and containers)"
}

cmd_start_host() {
  local i=$1
  need_host "$i"
  if dockerd_pid "$i" >/dev/null; then
    say "host $i: engine already running"
  else
    # A killed host leaves processes behind only if kill-host was not used; clear them first.
    local pids
    mapfile -t pids < <(leftover_pids "$i")
    [ ${#pids[@]} -eq 0 ] || stop_pids KILL 5 "${pids[@]}"
    start_engine "$i"
    wait_engine "$i"
    say "host $i: engine running"
  fi
  if [ -r "$STATE/agents.env" ]; then
    start_agent "$i"
    wait_agent "$i"
  fi
}

cmd_partition() {
  need_host "$1"
  ip link set "$(veth "$1")" down
  say "host $1: partitioned ($(veth "$1") down)"
}

cmd_heal() {
  need_host "$1"
  ip link set "$(veth "$1")" up
  say "host $1: healed ($(veth "$1") up)"
}

cmd_status() {
  local hosts i link engine agent pid containers
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    say "bridge $BRIDGE $GATEWAY/24: $(ip -br link show "$BRIDGE" | awk '{print $2}')"
  else
    say "bridge $BRIDGE: absent"
  fi
  hosts=$(known_hosts)
  [ -n "$hosts" ] || {
    say "no lab hosts"
    return 0
  }
  printf '%-5s %-14s %-13s %-17s %-26s %s\n' HOST NETNS ADDRESS LINK ENGINE AGENT
  for i in $hosts; do
    if ip link show "$(veth "$i")" >/dev/null 2>&1; then
      link=$(ip -br link show "$(veth "$i")" | awk '{print $2}')
      [ "$link" = DOWN ] && link="down(partitioned)"
    else
      link=absent
    fi
    if pid=$(dockerd_pid "$i"); then
      containers=$(timeout 5 docker -H "unix://$(sock "$i")" ps -q 2>/dev/null | wc -l) &&
        engine="up pid $pid, $containers running" || engine="pid $pid not answering"
    else
      engine=down
    fi
    if pid=$(agent_pid "$i"); then agent="up pid $pid"; else agent=down; fi
    printf '%-5s %-14s %-13s %-17s %-26s %s\n' "h$i" \
      "$([ -e "/var/run/netns/$(ns "$i")" ] && ns "$i" || echo absent)" "$(address "$i")" "$link" "$engine" "$agent"
  done
}

# Anything of the lab still present, one line each (empty when clean).
leftovers() {
  local i
  ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX" | sed 's/^/netns /' || true
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' |
    grep -E "^($VETH_PREFIX[0-9]+|$BRIDGE)\$" | sed 's/^/link /' || true
  iptables -S 2>/dev/null | grep -- "$BRIDGE" | sed 's/^/iptables /' || true
  grep -E " ($STATE|$DATA)[/ ]" /proc/mounts | awk '{print "mount " $2}' || true
  for i in "$STATE" "$DATA" /sys/fs/cgroup/*/"$NS_PREFIX"*; do [ -e "$i" ] && echo "path $i"; done
  for i in $(known_hosts); do
    for pid in $(agent_pid "$i") $(dockerd_pid "$i") $(leftover_pids "$i"); do echo "process $pid (host $i)"; done
  done
  return 0
}

cmd_down() {
  local started=$SECONDS hosts i pid pids=() round
  hosts=$(known_hosts)
  # 1. agents first, so nothing reacts to its engine going away.
  for i in $hosts; do pid=$(agent_pid "$i") && pids+=("$pid"); done
  stop_pids TERM 10 "${pids[@]}"
  # 2. engines: SIGTERM, and meanwhile SIGKILL their containers so shutdown is quick; dockerd
  #    restarts nothing once it is shutting down.
  pids=()
  for i in $hosts; do pid=$(dockerd_pid "$i") && pids+=("$pid"); done
  if [ ${#pids[@]} -gt 0 ]; then
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while ! wait_gone 0 "${pids[@]}" && [ "$SECONDS" -lt "$deadline" ]; do
      for i in $hosts; do kill_containers "$i"; done
      sleep 0.2
    done
    stop_pids KILL 5 "${pids[@]}"
  fi
  # 3. whatever they left: containerd, shims, proxies, container processes.
  for round in 1 2 3; do
    pids=()
    for i in $hosts; do mapfile -t -O "${#pids[@]}" pids < <(leftover_pids "$i"); done
    [ ${#pids[@]} -gt 0 ] || break
    stop_pids KILL 5 "${pids[@]}"
  done
  for i in $hosts; do remove_shim_sockets "$i"; done
  # 4. mounts under our directories, deepest first, then the directories.
  local mounts m
  for round in 1 2 3; do
    mounts=$(awk -v a="$STATE" -v b="$DATA" 'index($2, a "/") == 1 || $2 == a || index($2, b "/") == 1 || $2 == b {print $2}' /proc/mounts |
      awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2-)
    [ -n "$mounts" ] || break
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || warn "cannot unmount $m"
    done <<<"$mounts"
  done
  local forward_before=""
  [ -r "$STATE/ip_forward.before" ] && forward_before=$(cat "$STATE/ip_forward.before")
  rm -rf --one-file-system "$STATE" "$DATA" 2>/dev/null || warn "could not remove $STATE or $DATA"
  # 5. cgroups made for --cgroup-parent (empty now), children first.
  for m in /sys/fs/cgroup/*/"$NS_PREFIX"*; do
    [ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  # 6. network: namespaces (their eth0 ends go with them), host-side veths, bridge, rules.
  for m in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX" || true); do
    ip netns del "$m" 2>/dev/null || warn "cannot delete netns $m"
  done
  for m in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^$VETH_PREFIX[0-9]+\$" || true); do
    ip link del "$m" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  local chain dir
  for chain in DOCKER-USER FORWARD; do
    for dir in -i -o; do
      while iptables -D "$chain" "$dir" "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
    done
  done
  [ "$forward_before" = 0 ] && sysctl -q -w net.ipv4.ip_forward=0
  local left
  left=$(leftovers)
  if [ -n "$left" ]; then
    warn "lab down: some things are left:"
    printf '%s\n' "$left" | sed 's/^/  /' >&2
    return 1
  fi
  say "lab down: clean in $((SECONDS - started))s"
}

main() {
  local command=${1:-}
  [ $# -gt 0 ] && shift
  case $command in
  -h | --help | help | "")
    usage
    [ -n "$command" ]
    return
    ;;
  esac
  need_root
  case $command in
  up) cmd_up "$@" ;;
  down) cmd_down ;;
  agents) cmd_agents "$@" ;;
  start-agent)
    need_host "${1:-}"
    start_agent "$1"
    wait_agent "$1"
    ;;
  kill-agent)
    need_host "${1:-}"
    kill_agent "$1"
    ;;
  kill-host) cmd_kill_host "${1:-}" ;;
  start-host) cmd_start_host "${1:-}" ;;
  partition) cmd_partition "${1:-}" ;;
  heal) cmd_heal "${1:-}" ;;
  status) cmd_status ;;
  *)
    warn "unknown command: $command"
    usage >&2
    return 1
    ;;
  esac
}

main "$@"
