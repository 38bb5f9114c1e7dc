# shellcheck shell=bash
# Shell helpers of bench/run: tools, the throwaway PostgreSQL cluster,
# lrsd's start and stop, and process measurements. Sourced, not run.
#
# Everything listens on loopback only: PostgreSQL on a unix socket inside
# the work directory, lrsd on 127.0.0.1. Every wait is bounded.

say() {
    printf 'bench: %s\n' "$*" >&2
}

die() {
    say "$*"
    exit 1
}

# ---- tools ------------------------------------------------------------

PG_BINDIR=${PG_BINDIR:-}

find_pg_bindir() {
    local candidate
    if [ -n "$PG_BINDIR" ]; then
        return 0
    fi
    for candidate in /usr/lib/postgresql/*/bin; do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/pgbench" ]; then
            PG_BINDIR=$candidate
        fi
    done
}

# Installs, with apt-get, the Debian packages of whatever is missing:
# the build tools and libraries of lrsd, PostgreSQL (server, psql,
# pgbench), wrk and python3.
ensure_tools() {
    local missing=() pkgs=()
    find_pg_bindir
    command -v meson >/dev/null || missing+=(meson)
    command -v ninja >/dev/null || missing+=(ninja-build)
    command -v cc >/dev/null || missing+=(gcc)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v python3 >/dev/null || missing+=(python3)
    command -v psql >/dev/null || missing+=(postgresql-client)
    [ -n "$PG_BINDIR" ] || missing+=(postgresql postgresql-contrib)
    if [ ${#missing[@]} -eq 0 ] && pkg-config --exists \
        libmicrohttpd libpq jansson uuid libcrypto 2>/dev/null; then
        return 0
    fi
    pkgs=("${missing[@]}" libmicrohttpd-dev libpq-dev libjansson-dev
        uuid-dev libssl-dev)
    if [ "$EUID" -ne 0 ] || ! command -v apt-get >/dev/null; then
        die "missing tools; install: ${pkgs[*]}"
    fi
    say "installing ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${pkgs[@]}" >/dev/null
    find_pg_bindir
    [ -n "$PG_BINDIR" ] || die "PostgreSQL server binaries not found"
}

# ---- PostgreSQL -------------------------------------------------------

PG_DIR=
PG_PORT=
PG_AS=()
PG_STARTED=0

# The settings of the benchmark cluster, one per line. lrsd and the
# pgbench ceiling run on the same cluster, so they share all of them.
pg_settings() {
    cat <<EOF
fsync = on
synchronous_commit = ${BENCH_SYNC_COMMIT:-on}
full_page_writes = on
wal_level = replica
max_connections = 200
shared_buffers = 2GB
effective_cache_size = 8GB
work_mem = 16MB
maintenance_work_mem = 512MB
max_wal_size = 8GB
min_wal_size = 1GB
checkpoint_timeout = 30min
random_page_cost = 1.1
EOF
}

# pg_start DIR: creates and starts a cluster in DIR/pg (socket in DIR).
pg_start() {
    local dir=$1 owner
    PG_DIR=$dir/pg
    owner=$(id -un)
    if [ "$EUID" -eq 0 ]; then
        # initdb refuses to run as root.
        owner=postgres
        id -u postgres >/dev/null 2>&1 || useradd --system \
            --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres "$dir"
        PG_AS=(runuser -u postgres --)
    fi
    "${PG_AS[@]}" "$PG_BINDIR/initdb" -D "$PG_DIR" --auth=trust \
        --username="$owner" --encoding=UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2;
        die "initdb failed"; }
    PG_PORT=$((30000 + $$ % 20000))
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $PG_PORT"
        pg_settings
    } >>"$PG_DIR/postgresql.conf"
    "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR" -l "$dir/postgres.log" \
        -w -t 120 start >/dev/null 2>&1 || { tail -n 20 "$dir/postgres.log" \
        >&2; die "PostgreSQL did not start"; }
    PG_STARTED=1
    export PGHOST=$dir PGPORT=$PG_PORT PGUSER=$owner
}

pg_stop() {
    if [ "$PG_STARTED" -eq 1 ]; then
        "${PG_AS[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR" -m fast -t 60 \
            stop >/dev/null 2>&1 || true
        PG_STARTED=0
    fi
}

# pg_conninfo DB: the libpq conninfo of database DB of the cluster.
pg_conninfo() {
    echo "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$1"
}

# psql_q DB SQL: runs SQL, prints unaligned tuples only.
psql_q() {
    psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"
}

# ---- lrsd -------------------------------------------------------------

LRSD_PID=
LRSD_PORT=

# A port nothing listens on (a connect is refused).
free_port() {
    local port _
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# Succeeds when GET /xapi/about answers 200 (bash's /dev/tcp, bounded).
probe_about() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'GET /xapi/about HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n\r\n' \
            "Connection: close" >&3
        IFS= read -r -t 5 line <&3 || exit 1
        [[ $line == "HTTP/1."?" 200"* ]]
    ) 2>/dev/null
}

# lrsd_start DB LOG [OPTION...]: starts lrsd serve on a free port.
lrsd_start() {
    local db=$1 log=$2 _
    shift 2
    for _ in 1 2 3; do
        LRSD_PORT=$(free_port) || die "no free port"
        "$LRSD" serve --database "$(pg_conninfo "$db")" \
            --listen "127.0.0.1:$LRSD_PORT" --log-level warn "$@" \
            2>>"$log" &
        LRSD_PID=$!
        for _ in $(seq 1 600); do
            kill -0 "$LRSD_PID" 2>/dev/null || break
            probe_about "$LRSD_PORT" && return 0
            sleep 0.1
        done
        lrsd_stop
        grep -qi 'address already in use' "$log" || break
    done
    tail -n 20 "$log" >&2
    die "lrsd did not start (log: $log)"
}

lrsd_stop() {
    local _
    if [ -z "$LRSD_PID" ]; then
        return 0
    fi
    kill -TERM "$LRSD_PID" 2>/dev/null || true
    for _ in $(seq 1 300); do
        kill -0 "$LRSD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$LRSD_PID" 2>/dev/null || true
    wait "$LRSD_PID" 2>/dev/null || true
    LRSD_PID=
}

# lrsd_key DB: creates a credential; sets KEY, SECRET and AUTH (the
# Authorization header value).
lrsd_key() {
    local out
    out=$("$LRSD" key create --database "$(pg_conninfo "$1")" \
        --scopes all --label bench) || die "lrsd key create failed"
    KEY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' \
        <<<"$out")
    SECRET=$(python3 -c \
        'import json,sys; print(json.load(sys.stdin)["secret"])' <<<"$out")
    # shellcheck disable=SC2034 # read by bench/run
    AUTH="Basic $(printf '%s:%s' "$KEY" "$SECRET" | base64 -w0)"
}

# ---- measurements -----------------------------------------------------

# rss_kb PID: resident set size in KiB (0 if the process is gone).
rss_kb() {
    awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print 0 }' \
        "/proc/$1/status" 2>/dev/null || echo 0
}

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# machine_ticks: "STEAL TOTAL", the machine's clock ticks stolen by the
# hypervisor and all ticks, from /proc/stat. On a virtual machine another
# guest's load shows as steal; a run with much of it measured less CPU.
machine_ticks() {
    awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i;
        print $9 + 0, t; exit }' /proc/stat
}

# steal_pct "S0 T0" "S1 T1": the stolen share of the ticks in between.
steal_pct() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; printf "%.2f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0)
    }'
}

# rss_sampler PID SECONDS OUT: writes the peak RSS (KiB) seen while
# sampling every 0.1 s for at most SECONDS; stops early when the process
# exits or OUT.stop appears.
rss_sampler() {
    local pid=$1 limit=$2 out=$3 peak=0 rss _
    for _ in $(seq 1 $((limit * 10))); do
        [ -e "$out.stop" ] && break
        rss=$(rss_kb "$pid")
        [ "$rss" -gt "$peak" ] && peak=$rss
        [ "$rss" -eq 0 ] && break
        sleep 0.1
    done
    echo "$peak" >"$out"
}

# Random hex of N characters.
hex() {
    od -An -N"$(($1 / 2))" -tx1 /dev/urandom | tr -d ' \n'
}
