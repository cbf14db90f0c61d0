# One image for the whole product: the worker, the watcher and the runner that every runner pod runs.
# Built without a Docker engine or a registry by test/testbed/images.sh (podman build of this file, unchanged; the
# base image is assembled locally under the name below).
# What a real kubelet needs: a numeric non-root USER (runAsNonRoot cannot be checked against a user name), and
# nothing written to the root filesystem, which may be read-only: the runner writes its summary to
# /dev/termination-log (mounted by the kubelet), local mode to the OS temporary folder.

# Production dependencies only, and of the Temporal SDK's native bridge only the build for this platform
# (the package ships five: 110 MB of the others).
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  && target=$(node -p "require('@temporalio/core-bridge/common.js').getPrebuiltTargetName()") \
  && test -f "node_modules/@temporalio/core-bridge/releases/$target/index.node" \
  && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$target" -exec rm -r {} +

# The product's code (tsconfig.build.json leaves out test, bench and examples) and the workflow bundle
# (dist/workflow-bundle.js), which workers load instead of running webpack at start.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workflows workflows
COPY activities activities
RUN npx tsc -p tsconfig.build.json && node dist/src/temporal/workflow-bundle.js

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY crds crds
USER 1000:1000
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/src/cli.js"]
CMD ["--help"]
