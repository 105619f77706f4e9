# syntax=docker/dockerfile:1
# Build stage: compile TypeScript with the dev dependencies.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Everything `npm run build` reads (bin/build.js SOURCES) and runs: test/integration/dockerfile.test.ts builds this file set.
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
COPY console ./console
RUN npm run build

# Runtime stage: production dependencies only (model weights and WASM binaries come from them), non-root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data
# Debian's ffmpeg/ffprobe: the video decoder of POST /v1/searches/video (run as child processes; found on PATH at start).
# prlimit (the decoder's memory limit, VIDEO_DECODE_MEMORY_MB) comes with util-linux, essential in every Debian image.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# npm run keys | verify-audit | audit:anchor | reembed run dist/scripts/*.js through bin/run-script.js (no tsx, no sources).
COPY bin ./bin
COPY migrations ./migrations
COPY models ./models
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
