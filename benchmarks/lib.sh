# What the benchmark scripts share: `source benchmarks/lib.sh` from the repository root.

# port_from_log FILE [PATTERN] [SECONDS]: the port on the first line of FILE where PATTERN (a sed pattern, default
# "listening on ", the ISO 8583 listener; the admin API's line is "admin API listening on http:\/\/") is followed
# directly by 127.0.0.1:PORT, waiting at most SECONDS (default 10; recovering a large ledger takes minutes). Every
# server in the benchmarks listens on port 0 and logs its port: a port picked by a script could be taken before the
# server binds it, and a wait for that port would then find the other program.
# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks (getconf CLK_TCK per second); 0 when it
# is gone. The fields are counted after the command name, which is in parentheses and may hold spaces.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    stat=${stat##*) }
    awk '{ print $12 + $13 }' <<<"$stat"
}

# cpu_split PID: "user system switches", the process's user and system CPU time so far in clock ticks and its
# threads' context switches (voluntary + involuntary, summed over /proc/PID/task/*/status); "0 0 0" when it is gone.
cpu_split() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "0 0 0"; return; }
    stat=${stat##*) }
    local switches
    switches=$(cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n + 0 }')
    awk -v s="$switches" '{ print $12, $13, s }' <<<"$stat"
}

port_from_log() {
    local file=$1 pattern=${2:-listening on } seconds=${3:-10} port
    for _ in $(seq $((seconds * 10))); do
        port=$(sed -n "s/.*${pattern}127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p" "$file" | head -1)
        if [ -n "$port" ]; then echo "$port"; return 0; fi
        sleep 0.1
    done
    echo "no '${pattern}127.0.0.1:PORT' line in $file after $seconds s:" >&2
    tail -20 "$file" >&2
    return 1
}
