# Worker (and simulator) image. Two stages: dependencies are installed once from the lock file
# (cached while package*.json are unchanged), then copied beside the sources into a clean stage
# that runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    ROLLOUT_DATA_DIR=/data
WORKDIR /app
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
COPY --chown=node:node . .
# A named volume mounted on /data starts with this directory's owner, so `node` can write.
RUN mkdir -p /data && chown node:node /data
USER node
CMD ["npm", "run", "worker"]
