#!/usr/bin/env bash
# Data-parallel training across "hosts": two Linux network namespaces on this machine, each with its own address
# (10.77.0.1 and 10.77.0.2) on a bridge that lives in a third namespace, joined by veth pairs — so nothing is
# added to the machine's own network. `mpirun --host 10.77.0.1:1,10.77.0.2:1` runs inside the first namespace and
# starts the second host's daemon through a launch agent (plm_rsh_agent) that enters that namespace where ssh
# would log in; Open MPI's control and data traffic is restricted to the subnet, over TCP (no shared memory
# between the hosts). The job must equal one process with twice the batch, as in scripts/mpi_test.sh.
# Needs root (CI runs as root) and `ip` (Debian's iproute2); the namespaces are removed even when the test fails.
# Usage: scripts/mpi_hosts_test.sh [path to llm]   (default .build/release/llm)
set -euo pipefail
llm="$(realpath "${1:-.build/release/llm}")"
here="$(cd "$(dirname "$0")" && pwd)"
fail() { echo "multi-host MPI test FAILED: $*" >&2; exit 1; }
command -v mpirun > /dev/null || fail "mpirun not found (apt-get install openmpi-bin)"
command -v ip > /dev/null || fail "ip not found (apt-get install iproute2)"
[ "$(id -u)" = 0 ] || fail "creating network namespaces needs root"
prefix="llm$$"
hub="$prefix-hub"
hosts=("$prefix-h1" "$prefix-h2")
work="$(mktemp -d)"
cleanup() {
  for ns in "${hosts[@]}" "$hub"; do ip netns del "$ns" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The network: a bridge in the hub namespace, one veth pair per host (one end in the host, one on the bridge).
if ! ip netns add "$hub" 2> "$work/netns.err"; then
  # A container without CAP_SYS_ADMIN: a limit of the machine, not of the code under test; said, not failed.
  echo "multi-host MPI test SKIPPED: this machine does not allow network namespaces ($(head -1 "$work/netns.err"))"
  exit 0
fi
ip -n "$hub" link add br0 type bridge
ip -n "$hub" link set br0 up
for i in 1 2; do
  ns="${hosts[$((i - 1))]}"
  ip netns add "$ns"
  ip link add "$prefix-v$i" netns "$ns" type veth peer name "port$i" netns "$hub"
  ip -n "$ns" link set "$prefix-v$i" name eth0
  ip -n "$ns" addr add "10.77.0.$i/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip -n "$hub" link set "port$i" master br0
  ip -n "$hub" link set "port$i" up
done

# The launch agent: called as `agent [options] HOST COMMAND...` in place of ssh; runs COMMAND in HOST's namespace.
cat > "$work/agent" << EOF
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -*) shift ;; *) break ;; esac; done
host="\$1"; shift
case "\$host" in
  10.77.0.1) ns="${hosts[0]}" ;;
  10.77.0.2) ns="${hosts[1]}" ;;
  *) echo "agent: unknown host \$host" >&2; exit 1 ;;
esac
echo "\$host \$ns" >> "$work/agent.log"
exec ip netns exec "\$ns" /bin/sh -c "\$*"
EOF
chmod +x "$work/agent"

export LLM_NUM_THREADS=1
echo '{"vocab_size": 50257, "n_positions": 32, "n_embd": 32, "n_layer": 2, "n_head": 2}' > "$work/tiny.json"
common=(train --config "$work/tiny.json" --epochs 3 --max-steps 20 --eval-every 10 --seed 3 --dropout 0.1 --min-lr-fraction 1)
"$llm" "${common[@]}" --batch-size 8 --output "$work/one" > /dev/null 2>&1 || fail "the one-process run failed"
ip netns exec "${hosts[0]}" mpirun --allow-run-as-root --host 10.77.0.1:1,10.77.0.2:1 -np 2 \
  --mca plm_rsh_agent "$work/agent" --mca btl tcp,self \
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  -x LLM_NUM_THREADS -x PATH -x LD_LIBRARY_PATH \
  "$llm" "${common[@]}" --batch-size 4 --output "$work/two-hosts" > /dev/null 2> "$work/mpi.log" \
  || { cat "$work/mpi.log"; fail "mpirun across the two namespaces failed"; }
grep -q "data-parallel over 2 processes" "$work/mpi.log" || { cat "$work/mpi.log"; fail "the job did not run data-parallel"; }
grep -q "^10.77.0.2 ${hosts[1]}$" "$work/agent.log" || fail "the second host's daemon was not started through the launch agent"
echo "2 hosts (network namespaces, TCP over veth) x batch 4 against 1 process x 8, dropout 0.1:"
python3 "$here/compare_runs.py" "$work/one" "$work/two-hosts" 1e-4 | sed 's/^/  /' || fail "the two-host run differs from one process"
echo "multi-host MPI test passed"
