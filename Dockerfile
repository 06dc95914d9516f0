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
# qemu-img finds a disk's allocated regions, so disk copies skip holes; QEMU runs guests with FERRY_DRIVER=qemu, whose
# guest (a Debian kernel and busybox) is built on first use with apt-get download and cpio, so the package lists stay.
RUN apt-get update && apt-get install -y --no-install-recommends qemu-utils qemu-system-x86 cpio \
    && mkdir -p /var/lib/ferry
EXPOSE 8774
ENTRYPOINT ["node", "/ferry/tools/ferry/dist/main.js"]
CMD ["status"]
