# streamscore container image (used by docker-compose.yml):
#   docker build -t streamscore:local .
#   docker run --rm streamscore:local --help
# The build stage compiles the whole TypeScript project exactly as `npm run build` does locally; the
# runtime stage keeps only production dependencies, the compiled output and the data the CLI reads.
# .npmrc (onnxruntime-node-install=skip) is copied before `npm ci` so the install behaves as locally.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY scripts ./scripts
COPY bench ./bench
COPY test ./test
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json /app/.npmrc ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY models ./models
COPY schemas ./schemas
COPY topics ./topics
USER node
# Prometheus metrics (observe.port, STREAMSCORE_OBSERVE_PORT)
EXPOSE 9464
# run the bin itself, so the node flags on its first line (streamscore's runtime defaults, docs/memory.md) apply
ENTRYPOINT ["/app/bin/streamscore.js"]
CMD ["run", "--config", "/app/config/streamscore.yaml"]
