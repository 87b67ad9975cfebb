#!/usr/bin/env bash
# Proves that the k8s validation fails when it should: feeds broken manifests to
# validate-schemas.mjs and broken kustomizations to validate.sh, and asserts a non-zero exit
# and the specific complaint; a valid manifest must pass (so the checks are not just failing
# on everything).   bash deploy/k8s/validate.test.sh
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# A small set that satisfies every check: Deployment + Service + ConfigMap.
valid() {
  cat <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-config
data:
  PORT: "3000"
---
apiVersion: v1
kind: Service
metadata:
  name: demo
spec:
  selector:
    app: demo
  ports:
    - name: http
      port: 3000
      targetPort: http
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  replicas: 2
  selector:
    matchLabels:
      app: demo
  template:
    metadata:
      labels:
        app: demo
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: demo
          image: demo:1
          ports:
            - name: http
              containerPort: 3000
          envFrom:
            - configMapRef:
                name: demo-config
          readinessProbe:
            httpGet:
              path: /health/ready
              port: http
          livenessProbe:
            httpGet:
              path: /health/live
              port: http
          resources:
            requests:
              cpu: 100m
              memory: 64Mi
            limits:
              cpu: "1"
              memory: 128Mi
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: [ALL]
EOF
}

# expect NAME WANT_EXIT WANT_TEXT COMMAND...: runs COMMAND, checks exit status (0 or non-zero)
# and that the output contains WANT_TEXT (several texts: separated by ";;").
expect() {
  local name="$1" want="$2" text="$3"
  shift 3
  local out status
  out="$("$@" 2>&1)"
  status=$?
  if { [ "$want" = 0 ] && [ $status = 0 ]; } || { [ "$want" = fail ] && [ $status != 0 ]; }; then
    local needle missing=""
    while IFS= read -r needle; do
      grep -qF -- "$needle" <<<"$out" || missing="$needle"
    done < <(sed 's/;;/\n/g' <<<"$text")
    if [ -z "$missing" ]; then
      echo "  ✔ $name"
      passed=$((passed + 1))
      return
    fi
    echo "  ✖ $name: exit $status as expected, but the output lacks: $missing"
  else
    echo "  ✖ $name: exit $status, wanted $( [ "$want" = 0 ] && echo 0 || echo non-zero)"
  fi
  sed 's/^/      | /' <<<"$out"
  failed=$((failed + 1))
}

schema() { node "$here/validate-schemas.mjs" --label "$1" "$tmp/$1.yaml"; }

echo "validate-schemas.mjs"
valid >"$tmp/valid.yaml"
expect "a valid Deployment, Service and ConfigMap pass" 0 "0 problems" schema valid

valid | sed 's/^  replicas: 2$/  replicas: "two"/' >"$tmp/replicas-string.yaml"
expect 'replicas: "two" is a type error' fail "schema: /spec/replicas must be integer" schema replicas-string

# (the Deployment's selector; the Service's is "  selector:" + "    app: demo")
drop_selector() { perl -0pe 's/\n  selector:\n    matchLabels:\n      app: demo\n/\n/'; }
valid | drop_selector >"$tmp/no-selector.yaml"
expect "a Deployment without selector misses a required field" fail "schema: /spec must have required property selector" schema no-selector

valid | sed 's/^  replicas: 2$/  replicas: "two"/' | drop_selector >"$tmp/both.yaml"
expect "both faults in one Deployment are both reported" fail "/spec/replicas must be integer;;/spec must have required property selector" schema both

valid | sed 's/^kind: Deployment$/kind: Deploymnet/' >"$tmp/unknown-kind.yaml"
expect "an unknown kind is refused" fail 'unknown kind "Deploymnet"' schema unknown-kind

valid | sed 's/^  PORT: "3000"$/  PORT: 3000/' >"$tmp/configmap-number.yaml"
expect "a ConfigMap value that is not a string is a type error" fail "schema: /data/PORT must be string" schema configmap-number

valid | sed 's/^    app: demo$/    app: dmeo/' >"$tmp/selector-typo.yaml"
expect "a Service selector that matches no pod is caught" fail "matches no pod template" schema selector-typo

valid | sed '/allowPrivilegeEscalation: false/d' >"$tmp/escalation.yaml"
expect "a container without allowPrivilegeEscalation: false breaks Pod Security restricted" fail "allowPrivilegeEscalation must be false" schema escalation

valid | sed 's/^                name: demo-config$/                name: demo-konfig/' >"$tmp/missing-configmap.yaml"
expect "envFrom of a ConfigMap that is not in the set is caught" fail 'ConfigMap "demo-konfig" is not in this set' schema missing-configmap

{ valid; cat <<'EOF'
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: demo-canary
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
spec:
  rules:
    - host: demo.example
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: demo
                port:
                  name: http
EOF
} >"$tmp/lonely-canary.yaml"
expect "a canary Ingress without a main Ingress for its host is caught" fail 'canary for host "demo.example"' schema lonely-canary

echo "validate.sh (kustomize build + validation)"
mkdir -p "$tmp/kust-broken" "$tmp/kust-missing"
cp "$tmp/both.yaml" "$tmp/kust-broken/all.yaml"
printf 'resources:\n  - all.yaml\n' >"$tmp/kust-broken/kustomization.yaml"
expect "an overlay whose output is invalid fails the run" fail "0 passed, 1 failed" bash "$here/validate.sh" "$tmp/kust-broken"
printf 'resources:\n  - does-not-exist.yaml\n' >"$tmp/kust-missing/kustomization.yaml"
expect "an overlay that does not build fails the run" fail "kustomize build $tmp/kust-missing failed" bash "$here/validate.sh" "$tmp/kust-missing"

echo "validate.test.sh: $passed passed, $failed failed"
[ "$failed" = 0 ]
