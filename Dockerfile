# syntax=docker/dockerfile:1.7
#
# One image for both roles of Portcullis: `portcullis sidecar` (injected into
# agent pods) and `portcullis controller`. Built on the current Node LTS; the
# project itself supports Node >= 20 (package.json "engines").
#
#   docker build -t portcullis:dev .
#   docker run --rm -p 8080:8080 -p 9090:9090 portcullis:dev dev --policies /opt/portcullis/policies
#
# Base images are pinned to exact versions; pin them to digests as well in
# your registry mirror (`docker buildx imagetools inspect IMAGE`).

ARG NODE_IMAGE=node:24.11.1-bookworm-slim
ARG OPA_IMAGE=openpolicyagent/opa:1.10.1-static

# The opa CLI: used by the compiler adapter when present (design.md §5).
FROM ${OPA_IMAGE} AS opa

# Build: install exactly the lockfile, build the wasm runtime and the sources.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV CI=true npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY src/policy/rego/runtime ./src/policy/rego/runtime
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

# Runtime: compiled JavaScript, production dependencies, the wasm runtime,
# the shipped policies, the opa CLI; no compilers, no shell tools we do not need.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="portcullis" \
      org.opencontainers.image.description="Policy-bound execution for AI agent tool calls: sidecar and controller" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/portcullis-dev/portcullis"
ENV NODE_ENV=production \
    PORTCULLIS_COMPILER=auto
WORKDIR /opt/portcullis
COPY --from=build --chown=root:root /src/package.json ./package.json
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/build ./build
COPY --from=build --chown=root:root /src/bin ./bin
COPY --chown=root:root policies ./policies
COPY --from=opa --chown=root:root /opa /usr/local/bin/opa
# The non-root user of the official Node image; numeric so that Kubernetes
# `runAsNonRoot` can check it.
USER 1000:1000
EXPOSE 8080 9090
# The admin port serves /healthz in both roles.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORTCULLIS_ADMIN_PORT||9090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "/opt/portcullis/bin/portcullis.js"]
CMD ["sidecar"]
