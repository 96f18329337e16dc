# syntax=docker/dockerfile:1
# cloudedge reference server. Build: docker build -t cloudedge-server .
# Run:   docker run -p 9090:9090 -v cloudedge-data:/data cloudedge-server

# --- build: compile the workspaces the server needs, then drop dev dependencies ---
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json turbo.json tsconfig.base.json tsup.shared.ts ./
COPY packages ./packages
COPY examples ./examples
COPY bench/package.json ./bench/package.json
RUN npm ci --no-audit --no-fund \
 && npx turbo run build --filter=@cloudedge/server \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: Node 20 slim, non-root, data on a volume ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=9090 \
    CLOUDEDGE_DATA_DIR=/data \
    CLOUDEDGE_DB=sqlite:/data/cloudedge.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages/protocol/package.json ./packages/protocol/
COPY --from=build /app/packages/protocol/dist ./packages/protocol/dist
COPY --from=build /app/packages/cloud-sdk/package.json ./packages/cloud-sdk/
COPY --from=build /app/packages/cloud-sdk/dist ./packages/cloud-sdk/dist
COPY --from=build /app/examples/console/package.json ./examples/console/
COPY --from=build /app/examples/console/dist ./examples/console/dist
COPY --from=build /app/examples/server/package.json ./examples/server/
COPY --from=build /app/examples/server/dist ./examples/server/dist
COPY --from=build /app/examples/server/scripts/healthcheck.mjs ./examples/server/scripts/
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "examples/server/scripts/healthcheck.mjs"]
# SIGTERM → graceful shutdown: devices get bye with a jittered retry-after.
STOPSIGNAL SIGTERM
CMD ["node", "examples/server/dist/main.js"]
