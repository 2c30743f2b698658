# Switchboard on the official Bun image. Postgres comes from DATABASE_URL in production
# (the embedded Postgres is only for `npm start` on a laptop).
FROM oven/bun:1.4 AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN bun install --production --ignore-scripts

FROM oven/bun:1.4
WORKDIR /app
ENV NODE_ENV=production PORT=8080
COPY --from=deps /app/node_modules ./node_modules
COPY package.json bunfig.toml tsconfig.json ./
COPY src ./src
COPY db ./db
# The image's unprivileged user; nothing in /app is writable by it.
USER bun
EXPOSE 8080
# main.ts also migrates at start (under an advisory lock), so a machine that starts before the
# release command finishes is still safe.
CMD ["bun", "src/main.ts"]
