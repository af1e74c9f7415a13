# syntax=docker/dockerfile:1
# Purrvision's image: a static binary on distroless, as a non-root user.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t ghcr.io/purrvision/purrvision:dev .
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# Without the dev tag: no `purrvision dev`, and none of the development
# tooling (GitHub stand-in, local cluster, git server) is linked in;
# cmd/purrvision/deps_test.go checks this build.
RUN CGO_ENABLED=0 go build -trimpath \
	-ldflags "-s -w -X github.com/purrvision/purrvision/internal/version.Version=${VERSION}" \
	-o /out/purrvision ./cmd/purrvision

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/purrvision /usr/local/bin/purrvision
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/purrvision"]
CMD ["serve", "--config=/etc/purrvision/purrvision.yaml"]
