# One image for every Ferry service; the command picks which (ferry api | scheduler | compute --host H | db migrate).
FROM node:20-bookworm-slim AS build
WORKDIR /ferry
COPY package.json package-lock.json .npmrc tsconfig.base.json tsconfig.json ./
COPY libs/common/package.json libs/common/
COPY services/api/package.json services/api/
COPY services/scheduler/package.json services/scheduler/
COPY services/compute/package.json services/compute/
COPY tools/ferry/package.json tools/ferry/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY libs libs
COPY services services
COPY tools tools
COPY test test
RUN npx tsc -b && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /ferry
ENV NODE_ENV=production FERRY_STATE_DIR=/var/lib/ferry FERRY_API_LISTEN=0.0.0.0
COPY --from=build /ferry /ferry
RUN mkdir -p /var/lib/ferry
EXPOSE 8774
ENTRYPOINT ["node", "/ferry/tools/ferry/dist/main.js"]
CMD ["status"]
