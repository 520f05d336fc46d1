# syntax=docker/dockerfile:1

# Dependencies in their own stage: the layer is rebuilt only when package*.json change, and npm's cache
# stays out of the final image.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
  # The ffprobe package installs its binary executable by root only; the platform runs as `node`.
  && find node_modules/@ffprobe-installer node_modules/@ffmpeg-installer -type f \( -name ffprobe -o -name ffmpeg \) -exec chmod 755 {} +

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and only readable by `node`: the process cannot rewrite its own code or dependencies.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY migrations ./migrations
COPY scripts ./scripts
COPY src ./src
# Stored files (STORAGE_DRIVER=local): a volume in docker-compose.yml, shared by the API and the worker.
RUN mkdir -p /data/files && chown -R node:node /data
ENV STORAGE_DIR=/data/files
USER node
EXPOSE 3000 3001
# No HEALTHCHECK here: ROLE=worker runs no HTTP server, so each role's check lives in docker-compose.yml.
# Node runs the .ts sources directly (type stripping); there is no build step.
CMD ["node", "src/main.ts"]
