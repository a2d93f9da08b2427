# Baton worker, simulator, starter and codec server: a static binary on a non-root image.
# Build: docker build -t baton .
# Run:   docker run baton                       (the worker)
#        docker run --entrypoint /app/starter baton --help
#        docker run --entrypoint /app/simulator baton
#        docker run --entrypoint /app/codecserver baton
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ ./worker ./starter ./simulator ./codecserver

FROM gcr.io/distroless/static-debian12:nonroot
WORKDIR /app
COPY --from=build /out/ /app/
COPY config/policy.yaml /app/config/policy.yaml
USER nonroot:nonroot
ENV BATON_LOG_FORMAT=json \
    BATON_POLICY_FILE=/app/config/policy.yaml \
    BATON_METRICS_ADDRESS=0.0.0.0:9464
EXPOSE 9464
ENTRYPOINT ["/app/worker"]
