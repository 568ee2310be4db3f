# syntax=docker/dockerfile:1.7
#
# One image for both roles of Portcullis: `portcullis sidecar` (injected into
# agent pods by the controller's webhook) and `portcullis controller`. Built
# on the current Node LTS; the project itself supports Node >= 20.10
# (package.json "engines").
#
#   docker build -t portcullis:dev .
#   docker run --rm -p 7070:7070 -p 7071:7071 portcullis:dev \
#     dev --policies /opt/portcullis/policies --host 0.0.0.0
#
# Base images are pinned to exact versions (test/packaging/dockerfile.test.ts
# refuses floating tags); pin them to digests as well in your registry mirror
# (`docker buildx imagetools inspect IMAGE`).

ARG NODE_IMAGE=node:24.11.1-bookworm-slim
ARG OPA_IMAGE=openpolicyagent/opa:1.10.1-static

# The opa CLI: the compiler adapter uses it when it is on PATH (PORTCULLIS_COMPILER
# unset or "opa"); PORTCULLIS_COMPILER=portcullis selects the built-in compiler.
FROM ${OPA_IMAGE} AS opa

# Build: install exactly the lockfile, build the wasm runtime and the sources,
# then drop the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV CI=true npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY package.json package-lock.json ./
# `npm ci` runs the prepare script, which builds build/runtime.wasm from these.
COPY scripts/build-runtime.mjs ./scripts/build-runtime.mjs
COPY src/policy/rego/runtime ./src/policy/rego/runtime
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build \
 && npm prune --omit=dev \
 && rm -rf src node_modules/.cache

# Runtime: compiled JavaScript, production dependencies, the wasm runtime, the
# shipped policies and the opa CLI. Everything is owned by root and read-only
# to the process, which runs as a numeric non-root user.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="portcullis" \
      org.opencontainers.image.description="Policy-bound execution for AI agent tool calls: sidecar and controller" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/portcullis-dev/portcullis" \
      org.opencontainers.image.documentation="https://github.com/portcullis-dev/portcullis/tree/main/docs"
ENV NODE_ENV=production
WORKDIR /opt/portcullis
COPY --from=build --chown=root:root /src/package.json ./package.json
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/build ./build
COPY --from=build --chown=root:root /src/bin ./bin
COPY --chown=root:root policies ./policies
COPY --from=opa --chown=root:root /opa /usr/local/bin/opa
# nft: `portcullis capture-init` (the init container of injected pods) installs
# the pod's traffic capture rules with it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables \
 && rm -rf /var/lib/apt/lists/*
# The same numeric user the chart and the injected sidecar run as, so that
# Kubernetes `runAsNonRoot` can check it without a passwd entry.
USER 65532:65532
# Sidecar: proxy 7070, admin 7071. Controller: bundles/approvals/metrics 8080, webhooks 9443.
EXPOSE 7070 7071 8080 9443
# Both roles serve /healthz: the sidecar on its admin port (PORTCULLIS_ADMIN_PORT,
# default 7071), the controller on PORTCULLIS_CONTROLLER_PORT (default 8080).
# Healthy when either answers 200. (Kubernetes ignores HEALTHCHECK and uses the
# probes of the chart and of the injected sidecar.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const e=process.env,p=[e.PORTCULLIS_ADMIN_PORT||7071,e.PORTCULLIS_CONTROLLER_PORT||8080];Promise.any(p.map(n=>fetch('http://127.0.0.1:'+n+'/healthz').then(r=>{if(!r.ok)throw 0}))).then(()=>process.exit(0),()=>process.exit(1))"]
ENTRYPOINT ["node", "/opt/portcullis/bin/portcullis.js"]
CMD ["sidecar"]
