# syntax=docker/dockerfile:1

# Build: a static binary (no cgo), paths trimmed, the version stamped in.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/api ./cmd/api

# Run: the binary and CA certificates only (time zones are embedded in the
# binary), as an unprivileged user. No shell, no package manager.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/api /api
USER 65532:65532
ENV HTTP_ADDR=:8080
EXPOSE 8080
# Ready means the database answers and is migrated (GET /readyz).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/api", "healthcheck"]
ENTRYPOINT ["/api"]
CMD ["serve"]
