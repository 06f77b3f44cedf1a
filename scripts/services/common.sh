#!/usr/bin/env bash
# Shell helpers shared by scripts/services.sh and scripts/cdc.sh, sourced by both after they set SCRIPT_NAME
# (the prefix of their messages) and their ROOT, LOG_DIR and HOST.

say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*"; }
warn() { printf '%s: warning: %s\n' "$SCRIPT_NAME" "$*" >&2; }
fail() {
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
rel() { printf '%s' "${1#"$ROOT"/}"; }

listening() {
  if have ss; then
    [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null || true)" ]]
  else
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
  fi
}

port_holder() {
  local pid=''
  if have ss; then
    pid="$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2 || true)"
  fi
  if [[ -z "$pid" ]] && have lsof; then
    pid="$(lsof -nP -t -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | head -n 1 || true)"
  fi
  printf '%s' "$pid"
}

describe_pid() {
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c 1-100 || true)"
  printf 'pid %s (%s)' "$1" "${cmd% }"
}

port_taken_message() {
  local holder
  holder="$(port_holder "$1")"
  if [[ -n "$holder" ]]; then
    printf 'port %s is taken by %s; stop it or set %s to a free port' "$1" "$(describe_pid "$holder")" "$2"
  else
    printf 'port %s is taken by another process (run `ss -ltnp` as root to see which); stop it or set %s to a free port' "$1" "$2"
  fi
}

stop_pid() {
  local name=$1 pid=$2 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  warn "$name (pid $pid) did not stop within 60 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

rotate_log() {
  if [[ -f "$1" ]] && (($(stat -c %s "$1" 2>/dev/null || echo 0) > 20971520)); then mv -f "$1" "$1.1"; fi
}

show_log_tail() {
  local file
  for file in "$@"; do
    [[ -s "$file" ]] || continue
    printf -- '----- last lines of %s -----\n' "$(rel "$file")" >&2
    tail -n 40 "$file" >&2
  done
}

# need_java "<what needs it>": Java 17 or newer on PATH, else a message naming what needs it and the fix
need_java() {
  local needs=$1 version major
  have java || fail "java is not installed (needed to run $needs). Install a JDK/JRE 17 or newer, e.g. \`apt-get install openjdk-17-jre-headless\` (Debian/Ubuntu) or \`brew install openjdk@17\`, and put java on PATH."
  version="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
  major="${version%%.*}"
  [[ "$major" == 1 ]] && major="$(cut -d. -f2 <<<"$version")"
  [[ "$major" =~ ^[0-9]+$ ]] || {
    warn "cannot tell the java version ('$version'); $needs need Java 17 or newer"
    return 0
  }
  ((major >= 17)) || fail "java on PATH is version $version; $needs need Java 17 or newer. Install e.g. openjdk-17-jre-headless and put it first on PATH (or set JAVA_HOME/PATH)."
}

# need_mvn "<which jars>"
need_mvn() {
  have mvn || fail "mvn (Apache Maven) is not installed; it is needed once to download the $1 jars from Maven Central into .cache/. Install it (\`apt-get install maven\` on Debian/Ubuntu, \`brew install maven\` on macOS) or copy a populated .cache/ from another checkout."
}

# run_mvn "<what it resolves>" ARGS...: Maven on the caller's $POM, quiet, its output in $MAVEN_LOG
run_mvn() {
  local what=$1 log="${MAVEN_LOG:-$LOG_DIR/maven.log}"
  shift
  local extra=()
  # word splitting is intended: STREAMSCORE_MAVEN_ARGS holds several flags
  read -r -a extra <<<"${STREAMSCORE_MAVEN_ARGS:-}"
  printf '\n===== %s: mvn %s\n' "$(date '+%F %T')" "$*" >>"$log"
  if ! mvn -B -q -ntp -Dstyle.color=never -f "$POM" ${extra[@]+"${extra[@]}"} "$@" >>"$log" 2>&1; then
    show_log_tail "$log"
    fail "Maven could not resolve $what (see $(rel "$log")). It needs access to Maven Central (or a mirror configured in ~/.m2/settings.xml; extra flags via STREAMSCORE_MAVEN_ARGS)."
  fi
}

# one run of the script at a time per checkout (up waits for a concurrent up to finish)
lock() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if have flock; then
    exec 9>"$RUN_DIR/$SCRIPT_NAME.lock"
    flock -w 900 9 || fail "another scripts/$SCRIPT_NAME.sh is still running (lock $(rel "$RUN_DIR/$SCRIPT_NAME.lock"))"
  fi
}
