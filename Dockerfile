# Baton worker, simulator, starter, codec server, web inbox, audit anchor and witness: static binaries on a non-root image.
# Build: docker build -t baton .
# Run:   docker run baton                       (the worker)
#        docker run --entrypoint /app/starter baton --help
#        docker run --entrypoint /app/simulator baton
#        docker run --entrypoint /app/codecserver baton
#        docker run --entrypoint /app/inbox baton      (BATON_INBOX_* settings)
#        docker run --entrypoint /app/anchor baton     (BATON_ANCHOR_* settings)
#        docker run --entrypoint /app/witness baton    (BATON_WITNESS_* settings)
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/batonhq/baton/starter.version=${VERSION}" -o /out/ ./cmd/...
# /keys: where compose's inbox-keys job writes the inbox's key and the policy
# that trusts it (a named volume takes this directory's owner: nonroot).
# /anchor, /witness, /public: the audit log's key and state volumes.
RUN mkdir -p /keys /anchor /witness /public

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/ /app/
COPY config/policy.yaml /app/config/policy.yaml
COPY --from=build --chown=nonroot:nonroot /keys /keys
COPY --from=build --chown=nonroot:nonroot /anchor /anchor
COPY --from=build --chown=nonroot:nonroot /witness /witness
COPY --from=build --chown=nonroot:nonroot /public /public
USER nonroot:nonroot
ENV BATON_LOG_FORMAT=json \
    BATON_POLICY_FILE=/app/config/policy.yaml \
    BATON_METRICS_ADDRESS=0.0.0.0:9464
EXPOSE 9464 8088
ENTRYPOINT ["/app/worker"]
