#!/usr/bin/env bash
# Compose smoke test: the whole stack from compose.yaml, scaled out, one flash-sale burst
# through the edge, a clean audit, and proof from Prometheus that the load was spread.
#
#   deploy/compose/smoke.sh
#
# Steps (each timed; a summary is printed at the end):
#   1. ../shared/tools/docker-up and ../shared/tools/offline-images, when present (the shared/
#      folder beside the repo root; elsewhere Docker and a registry are assumed)
#   2. docker compose build                                   (app image + edge image)
#   3. docker compose up -d --wait                            (one replica each)
#   4. docker compose up -d --wait --scale envelope=3 --scale gateway=2
#   5. wait until Prometheus sees 3 envelope + 2 gateway targets up and HAProxy has 2 gateways
#   5b. GET /v1/admin/degradation through the edge with an admin token: 200, degraded false
#   6. node deploy/compose/smoke-burst.mjs: top-up, one envelope, a grab burst, audit ok and
#      pending == 0 (see the header of that file for its checks)
#   7. Prometheus: the envelope replicas and the gateways' sold-out memory counted every grab,
#      each envelope replica served grabs (and at least a quarter of a fair share of those that
#      reached the envelopes), every gateway replica served /v1 routes
# Always `docker compose down -v` on exit (SMOKE_KEEP=1 keeps the stack for debugging).
#
# Environment (all optional):
#   SMOKE_PROJECT          compose project name              (default hongbao-smoke)
#   SMOKE_EDGE_PORT        host port of the edge             (default 18080)
#   SMOKE_PROMETHEUS_PORT  host port of Prometheus           (default 19090)
#   SMOKE_NET_PREFIX       first three octets of the stack's /24 (HONGBAO_NET_PREFIX; default
#                          172.30.231, so a `hongbao` stack on the default 172.30.230 is left alone)
#   SMOKE_ENVELOPES        envelope replicas after scaling   (default 3)
#   SMOKE_GATEWAYS         gateway replicas after scaling    (default 2)
#   SMOKE_WAIT_TIMEOUT     seconds for each `up --wait`      (default 300; whole command, via timeout(1))
#   SMOKE_SKIP_BUILD=1     use the existing images (hongbao:local, hongbao-edge:local)
#   SMOKE_KEEP=1           leave the stack running at the end
#   HONGBAO_SHARED_DIR     where docker-up/offline-images live (default <repo>/../shared)
#   SHARES USERS GRABS CONCURRENCY AUDIT_TIMEOUT_S   passed to smoke-burst.mjs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SHARED="${HONGBAO_SHARED_DIR:-$ROOT/../shared}"
PROJECT="${SMOKE_PROJECT:-hongbao-smoke}"
ENVELOPES="${SMOKE_ENVELOPES:-3}"
GATEWAYS="${SMOKE_GATEWAYS:-2}"
WAIT_TIMEOUT="${SMOKE_WAIT_TIMEOUT:-300}"
export EDGE_PORT="${SMOKE_EDGE_PORT:-18080}"
export PROMETHEUS_PORT="${SMOKE_PROMETHEUS_PORT:-19090}"
export HONGBAO_NET_PREFIX="${SMOKE_NET_PREFIX:-172.30.231}"
# No buildx here: the classic builder (compose falls back to it with these set).
export DOCKER_BUILDKIT="${DOCKER_BUILDKIT:-0}"
export COMPOSE_DOCKER_CLI_BUILD="${COMPOSE_DOCKER_CLI_BUILD:-0}"
EDGE="http://127.0.0.1:${EDGE_PORT}"
PROM="http://127.0.0.1:${PROMETHEUS_PORT}"

compose() { docker compose -p "$PROJECT" -f "$ROOT/compose.yaml" --project-directory "$ROOT" "$@"; }
# `up --wait-timeout` does not cover the depends_on waits, so bound the whole command too.
bounded() { if command -v timeout >/dev/null; then timeout --foreground "$WAIT_TIMEOUT" "$@"; else "$@"; fi; }
log() { printf '\n[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
T0=$(now)
TIMINGS=()
step_start=$T0
mark() { # mark <label>: record the time since the previous mark
  local t; t=$(now)
  TIMINGS+=("$(awk -v a="$step_start" -v b="$t" -v l="$1" 'BEGIN { printf "%-34s %6.1f s", l, b - a }')")
  step_start=$t
}

STATUS=failed
BURST_JSON=""
cleanup() {
  local rc=$?
  set +e
  if [ "$rc" -ne 0 ] && docker info >/dev/null 2>&1; then
    log "FAILED (exit $rc): state and recent logs"
    compose ps -a
    compose logs --no-color --tail=40 2>&1 | tail -n 300
  fi
  if [ "${SMOKE_KEEP:-0}" = 1 ]; then
    log "SMOKE_KEEP=1: stack left running; remove it with: docker compose -p $PROJECT down -v"
  elif docker info >/dev/null 2>&1; then
    log "docker compose down -v"
    compose --profile observability down -v --remove-orphans --timeout 10 >/dev/null 2>&1
  fi
  mark "down -v"
  printf '\n==== compose smoke test: %s (%s s total) ====\n' "$STATUS" "$(awk -v a="$T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
  printf '  %s\n' "${TIMINGS[@]}"
  [ -z "$BURST_JSON" ] || printf '  burst: %s\n' "$BURST_JSON"
  exit "$rc"
}
trap cleanup EXIT

# prom <promql>: first sample's value of an instant query, or empty
prom() {
  node -e '
    const [base, q] = process.argv.slice(1);
    fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)
      .then((r) => r.json())
      .then((j) => { const r = j.data?.result ?? []; console.log(r.length ? r[0].value[1] : ""); })
      .catch(() => console.log(""));' "$PROM" "$1"
}
# prom_table <promql>: "instance value" per series
prom_table() {
  node -e '
    const [base, q] = process.argv.slice(1);
    fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`)
      .then((r) => r.json())
      .then((j) => { for (const s of j.data?.result ?? []) console.log(`    ${JSON.stringify(s.metric)} ${s.value[1]}`); })
      .catch((e) => console.log(`    (query failed: ${e.message})`));' "$PROM" "$1"
}
# wait_for <seconds> <expected> <promql>: poll until the query's value equals expected
wait_for() {
  local deadline=$(( $(date +%s) + $1 )) want=$2 q=$3 got=""
  while :; do
    got=$(prom "$q")
    [ "$got" = "$want" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "  timed out: ${q} = '${got}', expected ${want}" >&2
      return 1
    fi
    sleep 2
  done
}

command -v node >/dev/null || { echo "node is required (the burst and the Prometheus checks use it)" >&2; exit 2; }

# 1. Docker and the stand-in images.
if [ -x "$SHARED/tools/docker-up" ]; then
  log "docker-up"
  "$SHARED/tools/docker-up"
else
  log "no $SHARED/tools/docker-up: assuming a running Docker engine"
fi
docker compose version >/dev/null
if [ -x "$SHARED/tools/offline-images" ]; then
  # offline-images builds its root filesystem with debootstrap, which a fresh machine lacks.
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap (offline-images needs it)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  fi
  log "offline-images (skips tags that exist)"
  "$SHARED/tools/offline-images"
else
  log "no $SHARED/tools/offline-images: images come from the registry"
fi
mark "docker-up + offline-images"

# Start clean even if an earlier run was killed before its trap ran.
compose --profile observability down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true

# 2. Build.
if [ "${SMOKE_SKIP_BUILD:-0}" = 1 ]; then
  log "SMOKE_SKIP_BUILD=1: using existing images"
else
  log "docker compose build"
  compose build
fi
mark "docker compose build"

# 3. One replica of everything.
log "docker compose up -d --wait"
bounded docker compose -p "$PROJECT" -f "$ROOT/compose.yaml" --project-directory "$ROOT" up -d --wait --wait-timeout "$WAIT_TIMEOUT"
mark "up -d --wait"

# 4. Scale out.
log "docker compose up -d --wait --scale envelope=$ENVELOPES --scale gateway=$GATEWAYS"
bounded docker compose -p "$PROJECT" -f "$ROOT/compose.yaml" --project-directory "$ROOT" up -d --wait --wait-timeout "$WAIT_TIMEOUT" --scale envelope="$ENVELOPES" --scale gateway="$GATEWAYS"
compose ps
running() { compose ps --status running -q "$1" | wc -l | tr -d ' '; }
[ "$(running envelope)" = "$ENVELOPES" ] || { echo "expected $ENVELOPES running envelope containers, got $(running envelope)" >&2; exit 1; }
[ "$(running gateway)" = "$GATEWAYS" ] || { echo "expected $GATEWAYS running gateway containers, got $(running gateway)" >&2; exit 1; }
mark "scale out (up --wait --scale)"

# 5. Discovery has caught up: Prometheus sees every replica, HAProxy routes to every gateway.
log "waiting for Prometheus targets and HAProxy servers"
wait_for 60 "$ENVELOPES" 'count(up{job="envelope"} == 1)'
wait_for 60 "$GATEWAYS" 'count(up{job="gateway"} == 1)'
wait_for 60 "$GATEWAYS" 'sum(haproxy_backend_active_servers{proxy="gateway"})'
sleep 3 # the gateways' RPC clients re-resolve `envelope` every 2 s
mark "discovery (Prometheus, HAProxy)"

# 5b. Governance: the degradation switch answers through the edge (admin token signed like
# `npm run token -- 1 --admin`, with the stack's JWT_SECRET or the dev secret) and is off.
log "GET /v1/admin/degradation through the edge"
ADMIN_TOKEN="$(cd "$ROOT" && node scripts/token.mjs 1 --admin)"
node -e '
  const [url, token] = process.argv.slice(1);
  fetch(url, { headers: { authorization: `Bearer ${token}` } })
    .then(async (r) => {
      const text = await r.text();
      console.log(`  ${r.status} ${text}`);
      let body; try { body = JSON.parse(text); } catch { body = undefined; }
      if (r.status !== 200) throw new Error(`expected 200, got ${r.status}`);
      if (body?.degraded !== false) throw new Error("expected degraded: false");
    })
    .catch((e) => { console.error(`  degradation check failed: ${e.message}`); process.exit(1); });' "$EDGE/v1/admin/degradation" "$ADMIN_TOKEN"
mark "degradation switch (admin)"

# 6. The burst.
log "burst through the edge ($EDGE)"
BURST_OUT="$(mktemp "${TMPDIR:-/tmp}/hongbao-smoke-burst.XXXXXX")"
burst_rc=0
EDGE_URL="$EDGE" node "$ROOT/deploy/compose/smoke-burst.mjs" > "$BURST_OUT" || burst_rc=$?
BURST_JSON="$(cat "$BURST_OUT")"
rm -f "$BURST_OUT"
echo "$BURST_JSON"
[ "$burst_rc" = 0 ] || { echo "burst failed (exit $burst_rc)" >&2; exit 1; }
mark "burst + audit"

# 7. Load spread, from each replica's own metrics.
log "checking Prometheus: every replica served"
GRABS_SENT="${GRABS:-600}"
fail=0
# Once an envelope is sold out, the gateways answer its grabs from memory without an RPC
# (hongbao_edge_grab_answers_total), so the envelope replicas and the gateways count them together.
if ! wait_for 45 1 "count((sum(hongbao_grabs_total{service=\"envelope\"}) + (sum(hongbao_edge_grab_answers_total{service=\"gateway\"}) or vector(0))) >= $GRABS_SENT)"; then
  echo "  the envelope replicas and the gateways' sold-out memory counted fewer than the $GRABS_SENT grabs sent" >&2; fail=1
fi
if ! wait_for 45 "$ENVELOPES" 'count(sum by (instance) (hongbao_grabs_total{service="envelope"}) > 0)'; then
  echo "  not every envelope replica served grabs" >&2; fail=1
fi
ENVELOPE_GRABS="$(prom 'sum(hongbao_grabs_total{service="envelope"})')"
ENVELOPE_GRABS="${ENVELOPE_GRABS:-0}"
FLOOR=$(( ${ENVELOPE_GRABS%%.*} / ENVELOPES / 4 )) # a quarter of a fair share of what reached them
if ! wait_for 10 "$ENVELOPES" "count(sum by (instance) (hongbao_grabs_total{service=\"envelope\"}) >= $FLOOR)"; then
  echo "  load not spread: some envelope replica served fewer than $FLOOR grabs" >&2; fail=1
fi
if ! wait_for 45 "$GATEWAYS" 'count(sum by (instance) (hongbao_http_requests_total{service="gateway",route=~"/v1/.*"}) > 0)'; then
  echo "  not every gateway replica served /v1 requests" >&2; fail=1
fi
echo "  grabs per envelope replica (hongbao_grabs_total):"
prom_table 'sum by (instance) (hongbao_grabs_total{service="envelope"})'
echo "  grab outcomes:"
prom_table 'sum by (outcome, source) (hongbao_grabs_total{service="envelope"})'
echo "  grabs answered by the gateways' sold-out memory (hongbao_edge_grab_answers_total):"
prom_table 'sum by (outcome) (hongbao_edge_grab_answers_total{service="gateway"})'
echo "  /v1 requests per gateway replica (hongbao_http_requests_total):"
prom_table 'sum by (instance) (hongbao_http_requests_total{service="gateway",route=~"/v1/.*"})'
echo "  targets up per service:"
prom_table 'count by (service) (up == 1)'
mark "Prometheus checks"
[ "$fail" = 0 ] || exit 1

STATUS=passed
