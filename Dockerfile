# Worker (and simulator, and CLI) image, built from this repository:
#   docker build -t rollout-engine .
# Stages: `deps` installs every dependency from the lock file (cached while package*.json are
# unchanged); `build` compiles TypeScript to dist/ and prebuilds the workflow bundle
# (`npm run build`), so a worker starts without webpack; `prod-deps` installs runtime
# dependencies only; `runtime` holds just those and dist/, and runs as the unprivileged `node`.

FROM node:20.20.2-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
COPY simulator ./simulator
COPY shared ./shared
COPY scripts ./scripts
RUN npm run build

FROM node:20.20.2-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ROLLOUT_DATA_DIR=/data \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    METRICS_PORT=9464 \
    LOG_FORMAT=json
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
# A named volume mounted on /data starts with this directory's owner, so `node` can write.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 9464
# Healthy while the worker serves its metrics (it does so once connected to Temporal).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.METRICS_PORT || 9464) + '/metrics').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/worker/main.js"]
