# The Pod as a container image. Build it with scripts/build-pod-image.sh, which first makes the base
# (this machine's node and the libraries it links: nothing is pulled) and compiles the TypeScript.
# Configured by environment (POD_* as in `pod --help`); the data folder is the volume /data;
# the entrypoint is the `pod` CLI, so `docker run … pod-server:local backup --out /backup` works.
ARG BASE=pod-server-node:base
FROM ${BASE}

# A user of its own, and the data folder it owns (the base has no shell: node writes them). A named
# volume mounted at /data starts as a copy of this folder, owner included.
RUN ["node", "-e", "const fs = require('node:fs'); fs.appendFileSync('/etc/passwd', 'pod:x:10001:10001:Pod:/data:/sbin/nologin\\n'); fs.appendFileSync('/etc/group', 'pod:x:10001:\\n'); fs.mkdirSync('/data', { mode: 0o700 }); fs.chownSync('/data', 10001, 10001);"]

WORKDIR /app
# Dependencies first: they change less often than the code, so their layer stays cached.
COPY node_modules node_modules
COPY packages/server/node_modules packages/server/node_modules
COPY packages/protocol/package.json packages/protocol/
COPY packages/protocol/dist packages/protocol/dist
COPY packages/server/package.json packages/server/
COPY packages/server/bin packages/server/bin
COPY packages/server/dist/src packages/server/dist/src
# the owner's web app, built (api/web-app.ts finds it through node_modules/@pod/app)
COPY packages/app/package.json packages/app/
COPY packages/app/dist/www packages/app/dist/www

# Inside the container the Pod listens on every interface: publish the port where it belongs
# (-p 127.0.0.1:3030:3030, or behind a TLS proxy). Off loopback, the Pod still refuses to start
# without POD_OWNERS and POD_TLS_CERT/POD_TLS_KEY unless POD_INSECURE=true says a proxy does TLS.
ENV NODE_ENV=production POD_HOST=0.0.0.0 POD_PORT=3030 POD_DATA_DIR=/data
VOLUME /data
EXPOSE 3030
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/packages/server/dist/src/healthcheck.js"]
ENTRYPOINT ["node", "/app/packages/server/bin/pod.js"]
