# repowire relay: `docker build -t repowire-relay .`
# Runs `repowire relay serve` as the unprivileged `node` user; state lives in /data (a volume).

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.mjs && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    REPOWIRE_HOME=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/scripts/relay-healthcheck.mjs ./scripts/
RUN mkdir -p /data && chown node:node /data && chmod 700 /data \
  && ln -s /app/dist/bin.mjs /usr/local/bin/repowire
USER node
VOLUME ["/data"]
EXPOSE 8443
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "/app/scripts/relay-healthcheck.mjs"]
ENTRYPOINT ["node", "/app/dist/bin.mjs", "relay"]
# Default: plain HTTP behind the TLS proxy of docs/compose.example.yaml. For TLS in the
# container itself: `serve --tls-cert /certs/cert.pem --tls-key /certs/key.pem`.
CMD ["serve", "--host", "0.0.0.0", "--port", "8443", "--behind-proxy", "--trusted-proxy", "172.16.0.0/12", "--trusted-proxy", "10.0.0.0/8"]
