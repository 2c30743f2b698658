# Switchboard on the official Bun image. Postgres comes from DATABASE_URL (required in production); the
# embedded Postgres and the npm copy of Bun are development dependencies and stay out of the image.

# Dependencies exactly as package-lock.json pins them, production ones only.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:1.4
WORKDIR /app
ENV NODE_ENV=production PORT=8080 METRICS_PORT=9091
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY db ./db
# The image's unprivileged user; nothing in /app is writable by it.
USER bun
EXPOSE 8080 9091
# main.ts also migrates at start (under an advisory lock), so a machine that starts before the
# release command finishes is still safe.
CMD ["bun", "src/main.ts"]
