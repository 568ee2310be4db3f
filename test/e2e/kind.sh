#!/usr/bin/env bash
# Portcullis on a local Kubernetes cluster, end to end, for people with
# Docker, kind, kubectl and helm:
#
#   test/e2e/kind.sh             create (or reuse) the cluster and run every step
#   test/e2e/kind.sh --cleanup   the same, then delete the cluster
#   test/e2e/kind.sh --delete    only delete the cluster
#
# Steps: create the cluster from kind-config.yaml, build the image and load it
# into the nodes, install the chart (with Jaeger), apply the shipped policies
# as a PolicyBundle, deploy the sample agent (examples/agent/), check that its
# pod got the sidecar, that an allowed call goes through and denied ones are
# refused, that capture decides a call made without proxy settings and refuses
# other TCP, find the denied call's span in Jaeger's API, and hold a call for
# approval as an ActionApproval. Each step prints what it checks; the first
# failed check stops the script (exit 1).
set -euo pipefail

cd "$(dirname "$0")/../.."
CLUSTER=portcullis
NS=portcullis-system
AGENTS=agents
IMAGE=ghcr.io/portcullis/portcullis:$(node -p 'require("./package.json").version')
JAEGER=http://localhost:16686
cleanup=false

for arg in "$@"; do
  case "$arg" in
    --cleanup) cleanup=true ;;
    --delete) kind delete cluster --name "$CLUSTER"; exit 0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

step=0
step() { step=$((step + 1)); printf '\n==> %d. %s\n' "$step" "$*"; }
ok() { printf '    ok: %s\n' "$*"; }
fail() { printf '    FAILED: %s\n' "$*" >&2; exit 1; }
# retry N CMD...: run CMD every 2 s until it succeeds, at most N times.
retry() {
  local n=$1; shift
  for _ in $(seq "$n"); do
    if "$@"; then return 0; fi
    sleep 2
  done
  return 1
}

if $cleanup; then
  trap 'echo; echo "deleting cluster $CLUSTER"; kind delete cluster --name "$CLUSTER"' EXIT
fi

step "tools: docker, kind, kubectl, helm, curl, node are installed"
for tool in docker kind kubectl helm curl node; do
  command -v "$tool" >/dev/null || fail "$tool is not on PATH"
done
docker info >/dev/null 2>&1 || fail "docker is installed but its daemon does not answer (docker info)"
ok "all present"

step "cluster: kind cluster '$CLUSTER' from kind-config.yaml (Jaeger UI mapped to localhost:16686)"
if kind get clusters | grep -qx "$CLUSTER"; then
  ok "reusing the existing cluster"
else
  kind create cluster --config kind-config.yaml --wait 120s
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
kubectl get nodes
ok "nodes are up"

step "image: build $IMAGE from the Dockerfile and load it into the nodes (no registry involved)"
docker build -t "$IMAGE" --build-arg REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" .
kind load docker-image "$IMAGE" --name "$CLUSTER"
ok "image loaded"

step "chart: helm install charts/portcullis in $NS with Jaeger; the controller must become ready"
helm upgrade --install portcullis charts/portcullis \
  --namespace "$NS" --create-namespace \
  --set jaeger.enabled=true \
  --wait --timeout 5m
kubectl -n "$NS" rollout status deployment/portcullis-controller --timeout=180s
kubectl -n "$NS" rollout status deployment/portcullis-jaeger --timeout=180s
ca=$(kubectl get mutatingwebhookconfiguration portcullis-sidecar-injector -o jsonpath='{.webhooks[0].clientConfig.caBundle}')
[ -n "$ca" ] || fail "the controller did not set the injection webhook's caBundle"
ok "controller ready, webhook CA bundle set"

step "policy: the shipped policies as PolicyBundle 'shipped' in namespace $AGENTS; compiled and tested by the controller"
kubectl apply -f examples/agent/namespace.yaml
kubectl -n "$AGENTS" apply -f examples/policybundles/shipped.yaml
kubectl -n "$AGENTS" wait --for=condition=Ready policybundle/shipped --timeout=180s \
  || { kubectl -n "$AGENTS" describe policybundle shipped; fail "PolicyBundle shipped is not Ready"; }
kubectl -n "$AGENTS" get policybundles
ok "bundle Ready"

step "agent: the sample agent Deployment (annotated portcullis.dev/inject) gets the sidecar"
kubectl apply -f examples/agent/agent-script.yaml -f examples/agent/deployment.yaml
kubectl -n "$AGENTS" rollout status deployment/sample-agent --timeout=180s
pod=$(kubectl -n "$AGENTS" get pod -l app.kubernetes.io/name=sample-agent -o jsonpath='{.items[0].metadata.name}')
init=$(kubectl -n "$AGENTS" get pod "$pod" -o jsonpath='{.spec.initContainers[*].name}')
[[ " $init " == *" portcullis-sidecar "* ]] || fail "pod $pod has no portcullis-sidecar (init containers: $init)"
kubectl -n "$AGENTS" get pod "$pod" -o jsonpath='{.metadata.annotations.portcullis\.dev/injected}{"\n"}'
ok "pod $pod runs behind the sidecar"

step "capture: without proxy settings the agent's traffic is still decided; other TCP is refused"
[[ " $init " == *" portcullis-capture-init "* ]] || fail "pod $pod has no portcullis-capture-init (init containers: $init)"
kubectl -n "$AGENTS" logs "$pod" -c portcullis-capture-init | grep 'capture rules installed and verified' || fail "the capture init step did not verify its rules"
# Node's fetch ignores HTTP_PROXY: only the pod's rules bring this call to the gate, whose policy denies unknown hosts.
direct=$(kubectl -n "$AGENTS" exec "$pod" -c agent -- node -e 'fetch("http://example.com/").then(async (r) => console.log(r.status, await r.text())).catch((e) => console.log("error", e.cause?.code ?? e.message))')
[[ "$direct" == 403*PORTCULLIS_DENIED* ]] || fail "a direct fetch without proxy was not decided: $direct"
raw=$(kubectl -n "$AGENTS" exec "$pod" -c agent -- node -e 'require("net").connect(5432, "1.1.1.1").on("connect", () => { console.log("connected"); process.exit(0); }).on("error", (e) => console.log(e.code))')
[[ "$raw" == ECONNREFUSED ]] || fail "raw TCP to port 5432 was not refused: $raw"
ok "direct fetch denied by policy (403), raw TCP refused"

logs() { kubectl -n "$AGENTS" logs "$pod" -c agent 2>/dev/null; }
has_log() { logs | grep -q "$1"; }

step "calls: an MCP read is allowed, a write under /prod/ is denied, a delete is refused with 403"
retry 60 has_log 'portcullis-demo compute' || { logs; fail "the agent printed nothing yet"; }
logs | grep 'portcullis-demo' | head -5
logs | grep -q 'portcullis-demo allow mcp read_file /tmp/notes.txt: 2[0-9][0-9] .*remember the milk' || fail "the MCP read was not allowed"
logs | grep -q 'portcullis-demo deny mcp write_file /prod/config.yaml: [0-9]* .*-32001' || fail "the MCP write to /prod/ was not denied"
logs | grep -q 'portcullis-demo deny http DELETE /tools/deploy/v1/deployments/api: 403 .*PORTCULLIS_DENIED' || fail "the DELETE was not refused"
logs | grep -q 'portcullis-demo compute http POST /tools/deploy/v1/deployments: 2[0-9][0-9] .*dryRun' || fail "the deployment was not computed onto the dry run"
ok "allow, deny (MCP and HTTP) and compute as the policy says"

step "trace: the denied DELETE's span is in Jaeger ($JAEGER), with portcullis.effect=deny"
trace=$(logs | grep 'portcullis-demo deny http DELETE' | tail -1 | sed -E 's/.*"traceId":"([0-9a-f]{32})".*/\1/')
[[ "$trace" =~ ^[0-9a-f]{32}$ ]] || fail "no trace ID in the denied call's response"
span_found() { curl -fsS "$JAEGER/api/traces/$trace" 2>/dev/null | grep -q '"key":"portcullis.effect","type":"string","value":"deny"'; }
retry 30 span_found || fail "trace $trace has no span with portcullis.effect=deny in Jaeger"
curl -fsS "$JAEGER/api/traces/$trace" | node -e '
  const t = JSON.parse(require("fs").readFileSync(0, "utf8")).data[0];
  for (const s of t.spans) {
    const tags = Object.fromEntries(s.tags.map((x) => [x.key, x.value]));
    console.log(`    span ${s.operationName}: effect=${tags["portcullis.effect"] ?? "-"} reason=${tags["portcullis.reason"] ?? "-"} policy=${tags["portcullis.policy.digest"] ?? "-"}`);
  }'
ok "open $JAEGER/trace/$trace"

step "approval: a charge above the threshold is held as an ActionApproval until someone decides"
kubectl -n "$AGENTS" exec "$pod" -c agent -- node /scripts/agent.mjs escalate >/tmp/portcullis-kind-escalate.log 2>&1 &
held=$!
pending() { [ -n "$(kubectl -n "$AGENTS" get actionapprovals -o name 2>/dev/null)" ]; }
retry 30 pending || fail "no ActionApproval appeared for the held call"
kubectl -n "$AGENTS" get actionapprovals
ok "held; decide it with: npx portcullis approve --kube -n $AGENTS NAME (as a user of group payments; see examples/approvals/README.md)"
kill "$held" 2>/dev/null || true

printf '\nAll checks passed. Jaeger: %s   Cluster: kind-%s (test/e2e/kind.sh --delete removes it)\n' "$JAEGER" "$CLUSTER"
