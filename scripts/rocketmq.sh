#!/usr/bin/env bash
# Run a real Apache RocketMQ name server + one or more brokers on loopback for integration tests.
#
# Usage: scripts/rocketmq.sh start [--brokers N] [VERSION]
#        scripts/rocketmq.sh stop|status|logs
#        scripts/rocketmq.sh stop-broker|kill-broker|start-broker a|b
#
#   start         (re)start from scratch: fresh store, one name server, N brokers (default 1:
#                 broker-a only). Waits until the name server's cluster info (code 106) lists every
#                 broker, prints "rocketmq.sh: brokers: broker-a=127.0.0.1:10911 ..." and writes
#                 <work>/brokers.env (NAMESRV_ADDR=, BROKER_A_ADDR=, BROKER_B_ADDR=...).
#   stop          stop every broker of the run and the name server (SIGTERM, SIGKILL after 20 s).
#   status        list the name server and every broker of the run; exit 3 if one is not running.
#   logs          tail the process outputs and log files.
#   stop-broker X graceful stop of broker-X (SIGTERM; SIGKILL only after 20 s); waits until the
#                 pid is gone and its ports are free. The other broker and the name server stay up.
#   kill-broker X SIGKILL broker-X; waits until the pid is gone and its ports are free.
#   start-broker X restart broker-X on its existing store (not wiped) and wait until it booted and
#                 the name server lists it again ("broker-X ready after N s").
#
# The jars come from Maven Central (org.apache.rocketmq:rocketmq-namesrv / rocketmq-broker and
# their transitive dependencies), cached in <repo>/.cache/rocketmq/<version>/lib/; there is no
# binary distribution zip involved. See shared/protocol/REMOTING.md §11 for the recipe.
#
# Environment (use the same BC_NAMESRV_PORT / BC_RMQ_WORK for every command of one run; the
# other commands read the run's ports, version and broker count from <work>/state.env):
#   BC_RMQ_VERSION        RocketMQ version (a VERSION argument wins; default: DEFAULT_VERSION)
#   BC_RMQ_BROKERS        number of brokers for start, 1..4 (--brokers wins; default 1). All are
#                         masters (brokerId 0) of brokerClusterName=DefaultCluster, named
#                         broker-a, broker-b, ... and registered with the same name server.
#   BC_NAMESRV_PORT       name server port (default 9876)
#   BC_BROKER_PORT        broker-a's port (default 10911). Broker i (a=0, b=1, ...) listens on
#                         BROKER_PORT + 10*i, i.e. broker-b on 10921. Each broker also binds its
#                         port-2 ("fast" remoting port) and port+1 (HA port, all interfaces), so
#                         broker-a takes 10909/10911/10912 and broker-b 10919/10921/10922: the
#                         step of 10 keeps them apart. (4.9.x has no bindAddress setting: all
#                         its ports listen on all interfaces.) Two runs side by side need
#                         BC_BROKER_PORT values at least 10*N+4 apart (N = the first run's brokers).
#   BC_RMQ_WORK           work dir for configs, store, logs, pid files
#                         (default ${TMPDIR:-/tmp}/brokerclient-rmq-<namesrv port>)
#   BC_RMQ_START_TIMEOUT  seconds to wait for start-up / registration (default 90)
#   BC_RMQ_TLS_MODE       tls.server.mode of every server: disabled (default), permissive
#                         (plaintext and TLS) or enforcing (TLS only). Without BC_RMQ_TLS_DIR
#                         a TLS-accepting server makes itself a self-signed certificate.
#   BC_RMQ_TLS_DIR        directory with ca.pem, server.pem, server.key (PKCS#8), client.pem,
#                         client.key (e.g. from `cargo run --example tls_test_certs -- DIR`):
#                         the servers present server.pem, brokers talk TLS to the name server
#                         with client.pem, and BC_RMQ_TLS_MODE (default enforcing then) applies
#                         to the brokers while the name server stays permissive, so the
#                         plaintext readiness probe still reaches it.
#   BC_RMQ_TLS_CLIENT_AUTH  tls.server.need.client.auth with BC_RMQ_TLS_DIR: none (default),
#                         optional or require (clients must present a certificate of ca.pem).
#   BC_RMQ_ACL            1: brokers refuse requests without a valid AccessKey/Signature.
#                         5.x: ACL 2.0 authentication (authenticationEnabled, users in the
#                         store); 4.x: ACL 1.0 (aclEnable, conf/plain_acl.yml, admin account).
#                         start generates the credentials into <work>/acl.env (mode 600:
#                         BC_ACL_ACCESS_KEY=, BC_ACL_SECRET_KEY=); the secret is never printed.
#
# Work dir layout: broker-a keeps the single-broker names (broker.conf, broker.pid, broker.out,
# store/, logs under logs/rocketmqlogs/ next to the name server's); broker-X (X = b, c, d) uses
# broker-X.conf, broker-X.pid, broker-X.out and its own home broker-X/ (store/, logs/, conf/).
#
# Exit status: 0 ok; status: 3 when not every process of the run is running; anything else
# non-zero = failure.
set -euo pipefail

# Newest 5.3.x whose whole dependency set Maven Central serves here: 5.3.4 has rocketmq-broker but
# not rocketmq-client/remoting/... 5.3.4 (checked 2026-11-25), 5.3.5 nothing.
DEFAULT_VERSION=5.3.3

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
PROBE="$SCRIPT_DIR/rmq_probe.py"

CMD=${1:-}
[[ $# -gt 0 ]] && shift
ARG_BROKERS=""
POSITIONAL=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --brokers)
        [[ $# -ge 2 ]] || CMD=usage
        ARG_BROKERS=${2:-}
        shift 2 || shift
        ;;
    --brokers=*)
        ARG_BROKERS=${1#--brokers=}
        shift
        ;;
    -h | --help)
        CMD=usage
        shift
        ;;
    *)
        POSITIONAL+=("$1")
        shift
        ;;
    esac
done

MAX_BROKERS=4
BROKER_LETTERS=(a b c d)
# Port distance between consecutive brokers: room for port-2 (fast) .. port+1 (HA).
PORT_STEP=10

case "$CMD" in
stop-broker | kill-broker | start-broker)
    TARGET=${POSITIONAL[0]:-}
    VERSION=${BC_RMQ_VERSION:-$DEFAULT_VERSION}
    ;;
*)
    TARGET=""
    VERSION=${POSITIONAL[0]:-${BC_RMQ_VERSION:-$DEFAULT_VERSION}}
    ;;
esac
BROKERS=${ARG_BROKERS:-${BC_RMQ_BROKERS:-1}}
NAMESRV_PORT=${BC_NAMESRV_PORT:-9876}
BROKER_PORT=${BC_BROKER_PORT:-10911}
WORK=${BC_RMQ_WORK:-${TMPDIR:-/tmp}/brokerclient-rmq-$NAMESRV_PORT}
START_TIMEOUT=${BC_RMQ_START_TIMEOUT:-90}
CACHE="$REPO_ROOT/.cache/rocketmq/$VERSION"
# SIGTERM grace before SIGKILL (5.3.x brokers need ~11 s to flush and stop their services).
STOP_GRACE=20

NAMESRV_MAIN=org.apache.rocketmq.namesrv.NamesrvStartup
BROKER_MAIN=org.apache.rocketmq.broker.BrokerStartup

say() { echo "rocketmq.sh: $*"; }
die() { echo "rocketmq.sh: error: $*" >&2; exit 1; }

usage() {
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${BASH_SOURCE[0]}" >&2
    echo "Default version: $DEFAULT_VERSION" >&2
    exit 2
}

java_bin() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        echo "$JAVA_HOME/bin/java"
    else
        command -v java || die "java not found (Java 17 is expected)"
    fi
}

now() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
deadline_after() { awk -v a="$1" -v s="$2" 'BEGIN { printf "%d", a + s }'; }

port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ]]
    else
        # Without ss, a successful connect is the next best sign of a listener.
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    fi
}

# A process that exited but was not reaped yet (zombie) counts as gone: its ports are closed.
pid_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ "${stat%% *}" != Z ]]
}

# ---- brokers: letter a, b, ... -> names, files, ports ----------------------------------------

broker_index() {
    local i
    for i in "${!BROKER_LETTERS[@]}"; do
        [[ "${BROKER_LETTERS[$i]}" == "$1" ]] && { echo "$i"; return 0; }
    done
    return 1
}
# Base name of the .conf/.pid/.out files: broker-a keeps the single-broker names.
b_file() { if [[ $1 == a ]]; then echo broker; else echo "broker-$1"; fi; }
b_home() { if [[ $1 == a ]]; then echo "$WORK"; else echo "$WORK/broker-$1"; fi; }
b_store() { echo "$(b_home "$1")/store"; }
b_conf() { echo "$WORK/$(b_file "$1").conf"; }
b_port() { echo $((BROKER_PORT + PORT_STEP * $(broker_index "$1"))); }
b_addr() { echo "127.0.0.1:$(b_port "$1")"; }
b_ports() {
    local p
    p=$(b_port "$1")
    echo "$p $((p - 2)) $((p + 1))"
}
# The brokers of the run (BROKERS of them).
run_letters() { echo "${BROKER_LETTERS[@]:0:$BROKERS}"; }

# A pid file alone is not enough: after a reboot or a crash the pid may belong to someone else,
# and this script must never kill a process it did not start. The command line must name the
# main class and this process's config file.
pid_of() {
    local name=$1 main=$2 conf=$3 pid cmdline
    [[ -f "$WORK/$name.pid" ]] || return 1
    pid=$(<"$WORK/$name.pid")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    pid_alive "$pid" || return 1
    # Read into a variable: `tr | grep -q` would fail under pipefail when grep exits early.
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ "$cmdline" == *"$main -c "*"/$conf "* ]] || return 1
    echo "$pid"
}
namesrv_pid() { pid_of namesrv "$NAMESRV_MAIN" namesrv.properties; }
b_pid() { pid_of "$(b_file "$1")" "$BROKER_MAIN" "$(b_file "$1").conf"; }

# Addresses the name server lists (one per line); fails when it does not answer.
ns_addrs() {
    local out
    out=$(python3 "$PROBE" brokers "127.0.0.1:$NAMESRV_PORT" --timeout 2 2>/dev/null) || return 1
    awk '{ print $4 }' <<<"$out"
}
addr_listed() { [[ $'\n'"$2"$'\n' == *$'\n'"$1"$'\n'* ]]; }

# Ports, version and broker count of the run in WORK (for every command but start).
load_state() {
    local f="$WORK/state.env" v
    [[ -f "$f" ]] || return 0
    v=$(sed -n 's/^VERSION=//p' "$f")
    [[ -n "$v" ]] && VERSION=$v
    v=$(sed -n 's/^NAMESRV_PORT=//p' "$f")
    [[ -n "$v" ]] && NAMESRV_PORT=$v
    v=$(sed -n 's/^BROKER_PORT=//p' "$f")
    [[ -n "$v" ]] && BROKER_PORT=$v
    # Runs started before multi-broker support have no BROKERS line: one broker.
    v=$(sed -n 's/^BROKERS=//p' "$f")
    BROKERS=${v:-1}
    CACHE="$REPO_ROOT/.cache/rocketmq/$VERSION"
}

# a|b|broker-a|broker-b -> letter of a broker of this run, or die.
target_letter() {
    local l=${1#broker-}
    [[ -n "$1" ]] || die "which broker? (usage: scripts/rocketmq.sh $CMD a|b)"
    [[ -f "$WORK/state.env" ]] || die "nothing was started in $WORK (scripts/rocketmq.sh start first)"
    local i
    i=$(broker_index "$l") || die "unknown broker '$1' (expected a, b, ...)"
    ((i < BROKERS)) || die "broker-$l is not part of the run in $WORK (started with $BROKERS" \
        "broker(s); start more with BC_RMQ_BROKERS=$((i + 1)) scripts/rocketmq.sh start)"
    echo "$l"
}

ensure_gitignore() {
    local gi="$REPO_ROOT/.gitignore"
    if [[ ! -f "$gi" ]] || ! grep -qxE '/?\.cache/?' "$gi"; then
        # Keep whatever is there; only make sure the last line is terminated before appending.
        if [[ -s "$gi" && -n "$(tail -c1 "$gi")" ]]; then echo >>"$gi"; fi
        echo ".cache/" >>"$gi"
    fi
}

resolve_jars() {
    local marker="$CACHE/.resolved"
    [[ -f "$marker" ]] && return 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to fetch the RocketMQ jars)"
    mkdir -p "$CACHE"
    # Two instances started side by side must not resolve into the same lib/ at once.
    exec 9>"$CACHE/.lock"
    flock 9
    if [[ ! -f "$marker" ]]; then
        say "resolving RocketMQ $VERSION jars from Maven Central into ${CACHE#"$REPO_ROOT"/} (once)"
        cat >"$CACHE/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/rocketmq.sh: only used to fetch the jars into lib/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.brokerclient</groupId>
  <artifactId>rocketmq-runtime</artifactId>
  <version>$VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-namesrv</artifactId>
      <version>$VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.rocketmq</groupId>
      <artifactId>rocketmq-broker</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
        rm -rf "$CACHE/lib"
        local log="$CACHE/mvn.log"
        if ! (cd "$CACHE" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib \
            -DincludeScope=runtime >"$log" 2>&1); then
            tail -n 40 "$log" >&2
            rm -rf "$CACHE/lib"
            die "could not resolve RocketMQ $VERSION from Maven Central (is that version published?)"
        fi
        ls "$CACHE"/lib/rocketmq-broker-*.jar >/dev/null 2>&1 \
            || die "resolution of $VERSION produced no rocketmq-broker jar (see $log)"
        touch "$marker"
        say "resolved $(find "$CACHE/lib" -name '*.jar' | wc -l) jars"
    fi
    flock -u 9
    exec 9>&-
}

# Both mains run from the same jar set, except that the name server leaves out the broker jar:
# otherwise the broker's rmq.broker.logback.xml wins the classpath search in 5.x and both
# processes write into the same broker log files.
classpath() {
    local which=$1 jar cp=""
    for jar in "$CACHE"/lib/*.jar; do
        if [[ "$which" == namesrv && "$(basename "$jar")" == rocketmq-broker-* ]]; then continue; fi
        cp+="${cp:+:}$jar"
    done
    echo "$cp"
}

write_logback() {
    local file=$1 log=$2
    cat >"$file" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/rocketmq.sh: 4.9.x insists on this file under \$ROCKETMQ_HOME/conf. -->
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$log</file>
    <append>true</append>
    <encoder>
      <pattern>%d{yyyy-MM-dd HH:mm:ss.SSS} %-5p [%t] %c{0} - %m%n</pattern>
      <charset>UTF-8</charset>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE"/>
  </root>
</configuration>
EOF
}

write_broker_conf() {
    local l=$1 port store
    port=$(b_port "$l")
    store=$(b_store "$l")
    # Small mapped files: the defaults (1 GiB commit log, ~420 MB index, 100 MiB timer log) are
    # pre-allocated and would eat disk and page cache on a small CI machine.
    cat >"$(b_conf "$l")" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-$l
brokerId=0
brokerRole=ASYNC_MASTER
flushDiskType=ASYNC_FLUSH
namesrvAddr=127.0.0.1:$NAMESRV_PORT
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$port
haListenPort=$((port + 1))
storePathRootDir=$store
storePathCommitLog=$store/commitlog
mappedFileSizeCommitLog=67108864
mappedFileSizeConsumeQueue=600000
mappedFileSizeTimerLog=8388608
maxHashSlotNum=50000
maxIndexNum=200000
autoCreateTopicEnable=true
# SQL92 filters on pulls (bc_pull_request with BC_EXPRESSION_SQL92).
enablePropertyFilter=true
autoCreateSubscriptionGroup=true
diskMaxUsedSpaceRatio=95
transactionTimeOut=2000
transactionCheckInterval=1000
longPollingEnable=true
waitTimeMillsInSendQueue=1000
EOF
    # The ACL mode's lines carry the secret: the file is the owner's only.
    chmod 600 "$(b_conf "$l")"
    acl_conf "$l" >>"$(b_conf "$l")"
}

prepare_work() {
    mkdir -p "$WORK"
    # Only remove what this script creates: BC_RMQ_WORK may point at a directory with other files.
    rm -rf "$WORK/store" "$WORK/namesrv" "$WORK/logs" "$WORK/conf" "$WORK/tmp"
    rm -f "$WORK/namesrv.out" "$WORK/broker.out" "$WORK/namesrv.pid" "$WORK/broker.pid" \
        "$WORK/brokers.env"
    local l
    for l in "${BROKER_LETTERS[@]:1}"; do
        rm -rf "${WORK:?}/broker-$l"
        rm -f "$WORK/broker-$l.out" "$WORK/broker-$l.pid" "$WORK/broker-$l.conf"
    done
    mkdir -p "$WORK/store" "$WORK/namesrv" "$WORK/logs/rocketmqlogs" "$WORK/conf" "$WORK/tmp"

    cat >"$WORK/namesrv.properties" <<EOF
listenPort=$NAMESRV_PORT
bindAddress=127.0.0.1
kvConfigPath=$WORK/namesrv/kvConfig.json
configStorePath=$WORK/namesrv/namesrv.properties
EOF
    write_logback "$WORK/conf/logback_namesrv.xml" "$WORK/logs/rocketmqlogs/namesrv.log"
    write_tls_properties
    make_acl_credentials

    # Each broker has its own home (user.home, ROCKETMQ_HOME): 5.x logs under
    # ${user.home}/logs/rocketmqlogs, 4.9.x reads $ROCKETMQ_HOME/conf/logback_broker.xml.
    # broker-a's home is the work dir itself, as in the single-broker layout.
    local home
    for l in $(run_letters); do
        home=$(b_home "$l")
        mkdir -p "$home/store" "$home/logs/rocketmqlogs" "$home/conf"
        write_broker_conf "$l"
        write_logback "$home/conf/logback_broker.xml" "$home/logs/rocketmqlogs/broker.log"
    done

    {
        echo "VERSION=$VERSION"
        echo "NAMESRV_PORT=$NAMESRV_PORT"
        echo "BROKER_PORT=$BROKER_PORT"
        echo "FAST_PORT=$((BROKER_PORT - 2))"
        echo "HA_PORT=$((BROKER_PORT + 1))"
        echo "BROKERS=$BROKERS"
    } >"$WORK/state.env"
}

check_disk() {
    local used
    used=$(df -P "$WORK" | awk 'NR == 2 { sub(/%/, "", $5); print $5 }')
    if [[ "$used" =~ ^[0-9]+$ ]] && ((used > 88)); then
        echo "rocketmq.sh: WARNING: the partition of $WORK is ${used}% full; above 90% the broker" \
            "marks its store DISK_FULL and refuses every send (SERVICE_NOT_AVAILABLE, code 14)." \
            "Free space or point BC_RMQ_WORK elsewhere." >&2
    fi
}

JVM_COMMON=(
    -XX:+UseSerialGC
    -XX:ActiveProcessorCount=2
    # JDK 17 closes the internals RocketMQ's mmap/direct-buffer code reaches into.
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/java.nio=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    --add-exports java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    # TLS settings (tls.server.mode and the certificate files) come from tls_jvm_args.
)
BROKER_JVM=(
    -Xms512m -Xmx512m -XX:MaxDirectMemorySize=512m
    -Drocketmq.broker.diskSpaceWarningLevelRatio=0.90
    -Drocketmq.broker.diskSpaceCleanForciblyRatio=0.85
)

# tls_jvm_args namesrv|broker: the TLS system properties of that server.
tls_jvm_args() {
    local which=$1 mode
    # The servers accept TLS by default ("permissive") and generate a self-signed certificate
    # at boot, seconds of CPU on 2 cores. Tests speak plaintext unless they ask for TLS.
    if [[ -z "${BC_RMQ_TLS_DIR:-}" ]]; then
        echo "-Dtls.server.mode=${BC_RMQ_TLS_MODE:-disabled}"
        return
    fi
    mode=${BC_RMQ_TLS_MODE:-enforcing}
    [[ $which == namesrv ]] && mode=permissive
    echo "-Dtls.server.mode=$mode"
    echo "-Dtls.config.file=$WORK/tls.properties"
    # The broker's own client (registration with the name server) speaks TLS too.
    if [[ $which == broker ]]; then echo "-Dtls.enable=true"; fi
}

write_tls_properties() {
    local dir f
    rm -f "$WORK/tls.properties"
    [[ -n "${BC_RMQ_TLS_DIR:-}" ]] || return 0
    dir=$(cd "$BC_RMQ_TLS_DIR" && pwd) || die "BC_RMQ_TLS_DIR $BC_RMQ_TLS_DIR is not a directory"
    for f in ca.pem server.pem server.key client.pem client.key; do
        [[ -f "$dir/$f" ]] || die "BC_RMQ_TLS_DIR lacks $f (cargo run --example tls_test_certs -- DIR)"
    done
    local auth=${BC_RMQ_TLS_CLIENT_AUTH:-none} authclient=true
    case "$auth" in
    none) authclient=false ;;
    optional | require) ;;
    *) die "BC_RMQ_TLS_CLIENT_AUTH must be none, optional or require" ;;
    esac
    # TlsHelper reads this file on top of the system properties (tls.test.mode.enable=false:
    # use these files, not a self-signed certificate).
    cat >"$WORK/tls.properties" <<EOF
tls.test.mode.enable=false
tls.server.need.client.auth=$auth
tls.server.certPath=$dir/server.pem
tls.server.keyPath=$dir/server.key
tls.server.authClient=$authclient
tls.server.trustCertPath=$dir/ca.pem
tls.client.certPath=$dir/client.pem
tls.client.keyPath=$dir/client.key
tls.client.authServer=true
tls.client.trustCertPath=$dir/ca.pem
EOF
}

# ACL (BC_RMQ_ACL=1): fresh credentials for each start, kept only in <work>/acl.env.
ACL_AK=""
ACL_SK=""
make_acl_credentials() {
    rm -f "$WORK/acl.env"
    [[ "${BC_RMQ_ACL:-0}" == 1 ]] || return 0
    ACL_AK="bcak$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    ACL_SK="bcsk$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')"
    (
        umask 077
        printf 'BC_ACL_ACCESS_KEY=%s\nBC_ACL_SECRET_KEY=%s\n' "$ACL_AK" "$ACL_SK" >"$WORK/acl.env"
    )
}

# acl_conf LETTER: broker.conf lines (and, for 4.x, the plain_acl.yml) of the ACL mode.
acl_conf() {
    local l=$1
    [[ -n "$ACL_AK" ]] || return 0
    if [[ $VERSION == 4.* ]]; then
        echo "aclEnable=true"
        (
            umask 077
            cat >"$(b_home "$l")/conf/plain_acl.yml" <<EOF
globalWhiteRemoteAddresses: []
accounts:
  - accessKey: $ACL_AK
    secretKey: $ACL_SK
    admin: true
EOF
        )
    else
        # ACL 2.0: the initial user is a SUPER user; the broker signs its own requests
        # (registration) with the inner-client credentials.
        cat <<EOF
authenticationEnabled=true
authenticationProvider=org.apache.rocketmq.auth.authentication.provider.DefaultAuthenticationProvider
authenticationMetadataProvider=org.apache.rocketmq.auth.authentication.provider.LocalAuthenticationMetadataProvider
initAuthenticationUser={"username":"$ACL_AK","password":"$ACL_SK"}
innerClientAuthenticationCredentials={"accessKey":"$ACL_AK","secretKey":"$ACL_SK"}
EOF
    fi
}

# launch NAME MAIN CONF HOME JVM-ARGS...: output appended to $WORK/NAME.out.
launch() {
    local name=$1 main=$2 conf=$3 home=$4
    shift 4
    local java
    java=$(java_bin)
    # setsid: the JVMs must not die with the caller's terminal or process group (CI steps).
    # Neither setsid (not a group leader here) nor nohup forks, so $! is the JVM's pid.
    local tls_args which=broker
    [[ $main == "$NAMESRV_MAIN" ]] && which=namesrv
    mapfile -t tls_args < <(tls_jvm_args "$which")
    ROCKETMQ_HOME="$home" setsid nohup "$java" "$@" "${JVM_COMMON[@]}" "${tls_args[@]}" \
        -Duser.home="$home" -Drocketmq.home.dir="$home" -Djava.io.tmpdir="$WORK/tmp" \
        -cp "$(classpath "$name")" "$main" -c "$conf" \
        </dev/null >>"$WORK/$name.out" 2>&1 &
    local pid=$! i
    echo "$pid" >"$WORK/$name.pid"
    # Until the forked shell has exec'd java, /proc/<pid>/cmdline does not name the main class
    # yet, and the liveness checks would take the process for dead.
    for ((i = 0; i < 100; i++)); do
        pid_of "$name" "$main" "$(basename "$conf")" >/dev/null && return 0
        [[ -d "/proc/$pid" ]] || return 0
        sleep 0.05
    done
}

# Byte offset in each broker's .out where its current boot began: "boot success" must appear
# after it, so a name server entry left over from before a restart does not count as ready.
declare -A BOOT_OFFSET=()

launch_broker() {
    local l=$1 out
    out="$WORK/$(b_file "$l").out"
    if [[ -s "$out" ]]; then
        echo "===== rocketmq.sh: restarting broker-$l at $(date '+%F %T') =====" >>"$out"
    fi
    BOOT_OFFSET[$l]=$(stat -c %s "$out" 2>/dev/null || echo 0)
    launch "$(b_file "$l")" "$BROKER_MAIN" "$(b_conf "$l")" "$(b_home "$l")" "${BROKER_JVM[@]}"
}

broker_booted() {
    local l=$1 out content
    out="$WORK/$(b_file "$l").out"
    content=$(tail -c +$((${BOOT_OFFSET[$l]:-0} + 1)) "$out" 2>/dev/null) || return 1
    [[ "$content" == *"boot success"* ]]
}

show_file_tail() {
    local lines=$1 f=$2
    [[ -f "$f" ]] || return 0
    echo "----- last $lines lines of $f -----"
    tail -n "$lines" "$f"
}

show_logs() {
    local lines=${1:-60} f l
    show_file_tail "$lines" "$WORK/namesrv.out"
    for l in "${BROKER_LETTERS[@]}"; do show_file_tail "$lines" "$WORK/$(b_file "$l").out"; done
    local dirs=()
    for f in "$WORK/logs" "$WORK"/broker-*/logs; do [[ -d "$f" ]] && dirs+=("$f"); done
    ((${#dirs[@]} == 0)) && return 0
    while IFS= read -r f; do
        show_file_tail "$lines" "$f"
    done < <(find "${dirs[@]}" -type f -name '*.log' -size +0 | sort)
}

# One broker's output and its own logs (not the name server's).
show_broker_logs() {
    local lines=$1 l=$2 f
    show_file_tail "$lines" "$WORK/$(b_file "$l").out"
    [[ -d "$(b_home "$l")/logs" ]] || return 0
    while IFS= read -r f; do
        show_file_tail "$lines" "$f"
    done < <(find "$(b_home "$l")/logs" -type f -name '*.log' ! -name 'namesrv*' -size +0 | sort)
}

fail_start() {
    echo "rocketmq.sh: error: $*" >&2
    show_logs 60 >&2
    # A half-started set would block the ports for the next attempt.
    do_stop >&2 || true
    exit 1
}

# Waits for the name server to answer; FAIL_REASON and status 1 on failure.
FAIL_REASON=""
wait_namesrv() {
    local t0=$1 deadline
    deadline=$(deadline_after "$t0" "$START_TIMEOUT")
    while :; do
        namesrv_pid >/dev/null || { FAIL_REASON="name server process died during start-up"; return 1; }
        python3 "$PROBE" cluster "127.0.0.1:$NAMESRV_PORT" --timeout 2 >/dev/null 2>&1 && return 0
        if (($(date +%s) >= deadline)); then
            FAIL_REASON="name server not ready within $START_TIMEOUT s (BC_RMQ_START_TIMEOUT)"
            return 1
        fi
        sleep 0.5
    done
}

# wait_brokers T0 LETTER...: until each broker printed "boot success" (its first registration
# with the name server is done by then) and the name server's cluster info lists its address.
# Prints "broker-X ready after N s" for each; FAIL_REASON and status 1 on failure.
wait_brokers() {
    local t0=$1
    shift
    local pending=("$@") still l addrs deadline
    deadline=$(deadline_after "$t0" "$START_TIMEOUT")
    while :; do
        namesrv_pid >/dev/null || { FAIL_REASON="name server process died"; return 1; }
        addrs=$(ns_addrs) || addrs=""
        still=()
        for l in "${pending[@]}"; do
            b_pid "$l" >/dev/null || { FAIL_REASON="broker-$l process died during start-up"; return 1; }
            if broker_booted "$l" && addr_listed "$(b_addr "$l")" "$addrs"; then
                say "broker-$l ready after $(elapsed_since "$t0") s (pid $(b_pid "$l"), $(b_addr "$l"))"
            else
                still+=("$l")
            fi
        done
        ((${#still[@]} == 0)) && return 0
        pending=("${still[@]}")
        if (($(date +%s) >= deadline)); then
            FAIL_REASON="broker(s) ${pending[*]} not booted and listed by the name server within"
            FAIL_REASON+=" $START_TIMEOUT s (BC_RMQ_START_TIMEOUT)"
            return 1
        fi
        sleep 0.5
    done
}

do_start() {
    [[ "$BROKERS" =~ ^[0-9]+$ ]] && ((BROKERS >= 1 && BROKERS <= MAX_BROKERS)) \
        || die "broker count must be 1..$MAX_BROKERS (BC_RMQ_BROKERS / --brokers), got '$BROKERS'"
    # Stop whatever ran in WORK, with that run's own state (in a subshell: it loads state.env).
    (
        load_state
        running=0
        namesrv_pid >/dev/null && running=1
        for l in "${BROKER_LETTERS[@]}"; do b_pid "$l" >/dev/null && running=1; done
        if ((running)); then
            say "already running in $WORK; stopping it first"
            do_stop
        fi
    )
    local p l ports=("$NAMESRV_PORT") desc=""
    for l in $(run_letters); do
        # shellcheck disable=SC2207
        ports+=($(b_ports "$l"))
        desc+=", broker-$l $(b_addr "$l") (fast $(($(b_port "$l") - 2)), HA $(($(b_port "$l") + 1)))"
    done
    for p in "${ports[@]}"; do
        if port_in_use "$p"; then
            die "port $p is already in use by a process this script did not start" \
                "(ports needed: namesrv $NAMESRV_PORT, brokers ${ports[*]:1};" \
                "set BC_NAMESRV_PORT / BC_BROKER_PORT)"
        fi
    done
    command -v python3 >/dev/null 2>&1 || die "python3 not found (needed for the readiness probe)"
    ensure_gitignore
    resolve_jars
    prepare_work
    check_disk
    say "starting RocketMQ $VERSION: namesrv 127.0.0.1:$NAMESRV_PORT$desc, work dir $WORK"
    local t0
    t0=$(now)
    launch namesrv "$NAMESRV_MAIN" "$WORK/namesrv.properties" "$WORK" -Xms256m -Xmx256m
    # A broker registers at boot and then only every 30 s, so it must not start before the name
    # server answers. All brokers then boot at once: their start-ups overlap.
    wait_namesrv "$t0" || fail_start "$FAIL_REASON"
    say "name server answering on 127.0.0.1:$NAMESRV_PORT after $(elapsed_since "$t0") s;" \
        "starting $(run_letters | sed 's/\([a-z]\)/broker-\1/g; s/ /, /g')"
    # shellcheck disable=SC2046
    for l in $(run_letters); do launch_broker "$l"; done
    # shellcheck disable=SC2046
    wait_brokers "$t0" $(run_letters) || fail_start "$FAIL_REASON"

    local pids="namesrv pid $(namesrv_pid)" list="" envf="$WORK/brokers.env"
    {
        echo "NAMESRV_ADDR=127.0.0.1:$NAMESRV_PORT"
        for l in $(run_letters); do
            pids+=", broker-$l pid $(b_pid "$l")"
            list+=" broker-$l=$(b_addr "$l")"
            echo "BROKER_${l^^}_ADDR=$(b_addr "$l")"
        done
    } >"$envf.tmp"
    mv "$envf.tmp" "$envf"
    if ((BROKERS == 1)); then
        say "broker ready after $(elapsed_since "$t0") s ($pids)"
    else
        say "$BROKERS brokers ready after $(elapsed_since "$t0") s ($pids)"
    fi
    say "brokers:$list"
}

# wait_gone SECONDS PID...: until no pid is alive; fails when some still are.
wait_gone() {
    local secs=$1 i pid alive
    shift
    for ((i = 0; i < secs * 4; i++)); do
        alive=0
        for pid in "$@"; do pid_alive "$pid" && alive=1; done
        ((alive)) || return 0
        sleep 0.25
    done
    return 1
}

# wait_ports_free SECONDS PORT...: prints the ports still in use and fails, if any.
wait_ports_free() {
    local secs=$1 i p busy
    shift
    for ((i = 0; i <= secs * 4; i++)); do
        busy=()
        for p in "$@"; do port_in_use "$p" && busy+=("$p"); done
        ((${#busy[@]} == 0)) && return 0
        sleep 0.25
    done
    echo "${busy[*]}"
    return 1
}

# SIGTERM lets a broker flush its store; 5.3.x needs ~11 s for that (its services stop one by
# one), the name server ~6 s. All get the signal at once so the waits overlap; the brokers
# unregister from the name server first thing, before the name server is gone.
do_stop() {
    # Ports and broker count come from the state of the run being stopped, not the environment.
    load_state
    local pids=() pid l
    # Every letter, not only the run's: a pid file left by an earlier run with more brokers.
    for l in "${BROKER_LETTERS[@]}"; do
        if pid=$(b_pid "$l"); then
            say "stopping broker-$l (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
        fi
    done
    if pid=$(namesrv_pid); then
        say "stopping namesrv (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        pids+=("$pid")
    fi
    local pidfiles=("$WORK/namesrv.pid")
    for l in "${BROKER_LETTERS[@]}"; do pidfiles+=("$WORK/$(b_file "$l").pid"); done
    if ((${#pids[@]} == 0)); then
        rm -f "${pidfiles[@]}"
        say "not running (work dir $WORK)"
        return 0
    fi
    if ! wait_gone "$STOP_GRACE" "${pids[@]}"; then
        local alive=()
        for pid in "${pids[@]}"; do pid_alive "$pid" && alive+=("$pid"); done
        say "pid(s) ${alive[*]} still alive after $STOP_GRACE s; sending SIGKILL"
        kill -KILL "${alive[@]}" 2>/dev/null || true
        wait_gone "$STOP_GRACE" "${alive[@]}" || say "warning: pid(s) ${alive[*]} did not exit"
    fi
    rm -f "${pidfiles[@]}"
    local ports=("$NAMESRV_PORT") busy
    # shellcheck disable=SC2207
    for l in $(run_letters); do ports+=($(b_ports "$l")); done
    if ! busy=$(wait_ports_free 10 "${ports[@]}"); then
        say "warning: port(s) $busy still in use after stop"
    fi
    say "stopped"
}

# stop_one_broker LETTER TERM|KILL
stop_one_broker() {
    local l=$1 sig=$2 pid t0 busy
    local verb=stopped
    [[ $sig == KILL ]] && verb=killed
    if ! pid=$(b_pid "$l"); then
        rm -f "$WORK/$(b_file "$l").pid"
        say "broker-$l not running (work dir $WORK)"
    else
        t0=$(now)
        if [[ $sig == TERM ]]; then
            say "stopping broker-$l (pid $pid, SIGTERM)"
            kill -TERM "$pid" 2>/dev/null || true
            if ! wait_gone "$STOP_GRACE" "$pid"; then
                say "broker-$l (pid $pid) still alive after $STOP_GRACE s; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                verb=killed
                wait_gone 10 "$pid" || die "broker-$l (pid $pid) did not exit after SIGKILL"
            fi
        else
            say "killing broker-$l (pid $pid, SIGKILL)"
            kill -KILL "$pid" 2>/dev/null || true
            wait_gone 10 "$pid" || die "broker-$l (pid $pid) did not exit after SIGKILL"
        fi
        rm -f "$WORK/$(b_file "$l").pid"
        # shellcheck disable=SC2046
        busy=$(wait_ports_free 10 $(b_ports "$l")) \
            || die "broker-$l (pid $pid) exited but port(s) $busy are still in use"
        say "broker-$l $verb after $(elapsed_since "$t0") s; ports $(b_ports "$l" | tr ' ' ',') free"
    fi
    # What the name server shows now (it drops a broker when the broker unregisters, when its
    # connection closes, or after 120 s without a registration).
    local addrs
    if namesrv_pid >/dev/null && addrs=$(ns_addrs); then
        if addr_listed "$(b_addr "$l")" "$addrs"; then
            say "the name server still lists broker-$l ($(b_addr "$l")) for now"
        else
            say "the name server no longer lists broker-$l"
        fi
    fi
}

do_start_broker() {
    local l=$1 pid p addrs
    namesrv_pid >/dev/null \
        || die "the name server of $WORK is not running (start everything with: scripts/rocketmq.sh start)"
    [[ -f "$(b_conf "$l")" && -d "$(b_store "$l")" ]] \
        || die "broker-$l has no config or store in $WORK (scripts/rocketmq.sh start first)"
    if pid=$(b_pid "$l"); then
        if addrs=$(ns_addrs) && addr_listed "$(b_addr "$l")" "$addrs"; then
            say "broker-$l already running (pid $pid) and listed by the name server"
            return 0
        fi
        say "broker-$l already running (pid $pid); waiting for the name server to list it"
        wait_brokers "$(now)" "$l" || die "$FAIL_REASON"
        return 0
    fi
    # shellcheck disable=SC2046
    for p in $(b_ports "$l"); do
        port_in_use "$p" && die "port $p of broker-$l is in use by a process this script did not start"
    done
    command -v python3 >/dev/null 2>&1 || die "python3 not found (needed for the readiness probe)"
    resolve_jars
    check_disk
    say "starting broker-$l on $(b_addr "$l") with its existing store $(b_store "$l")"
    local t0
    t0=$(now)
    launch_broker "$l"
    if ! wait_brokers "$t0" "$l"; then
        echo "rocketmq.sh: error: $FAIL_REASON" >&2
        show_broker_logs 60 "$l" >&2
        # Only this broker: the name server and the other brokers keep running.
        stop_one_broker "$l" TERM >&2 || true
        exit 1
    fi
}

do_status() {
    load_state
    local rc=0 pid l addrs="" listed
    if pid=$(namesrv_pid); then
        say "namesrv running (pid $pid, port $NAMESRV_PORT, version $VERSION)"
        addrs=$(ns_addrs) || addrs=""
    else
        say "namesrv not running"
        rc=3
    fi
    for l in "${BROKER_LETTERS[@]}"; do
        local in_run=0
        (($(broker_index "$l") < BROKERS)) && in_run=1
        if pid=$(b_pid "$l"); then
            listed="not listed by the name server"
            addr_listed "$(b_addr "$l")" "$addrs" && listed="listed by the name server"
            say "broker-$l running (pid $pid, $(b_addr "$l"), version $VERSION, $listed)"
        elif ((in_run)); then
            say "broker-$l not running ($(b_addr "$l"))"
            rc=3
        fi
    done
    return $rc
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
status) do_status || exit $? ;;
logs)
    load_state
    show_logs 60
    ;;
stop-broker | kill-broker | start-broker)
    load_state
    letter=$(target_letter "$TARGET")
    case "$CMD" in
    stop-broker) stop_one_broker "$letter" TERM ;;
    kill-broker) stop_one_broker "$letter" KILL ;;
    start-broker) do_start_broker "$letter" ;;
    esac
    ;;
*) usage ;;
esac
