# One image for the whole product: the worker, the watcher and the runner that every runner pod runs.
# (Not built in this repo's CI: the development machines have no Docker engine. The test bed maps this image's
# name to the local build instead.)
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src src
COPY workflows workflows
COPY activities activities
COPY test test
COPY examples examples
# Workers load the pre-built workflow bundle (dist/workflow-bundle.js) instead of running webpack at start.
RUN npx tsc -p tsconfig.json && node dist/src/temporal/workflow-bundle.js && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY crds crds
USER node
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/src/cli.js"]
CMD ["--help"]
