# Purrvision. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO ?= go
# Slow builds (kube-apiserver, etcd, later the Flux controllers) are cached
# here, outside the checkout, so a fresh clone reuses them.
export PURRVISION_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/purrvision
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/purrvision/purrvision/internal/version.Version=$(VERSION)
BIN := bin

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

# What bin/purrvision is built from, embedded files included; linking it
# takes ~15 s, so it is rebuilt only when one of these or the version changes.
PURRVISION_SOURCES := $(shell find cmd internal renderer webhook reconcile templates tenants charts flux examples -type f -not -name '*_test.go' -not -path '*/testdata/*' 2>/dev/null) go.mod go.sum

# bin/purrvision is built with the dev tag: it has `purrvision dev` and
# links the local cluster, the git server and the GitHub stand-in. The image
# (`make image`) is built without it, and links none of them
# (cmd/purrvision/deps_test.go checks).
DEV_TAGS := dev

.PHONY: build
build: $(BIN)/purrvision ## Build bin/purrvision, with the dev command (the image is built without it).

$(BIN)/purrvision: $(PURRVISION_SOURCES) $(BIN)/.version
	hack/with-progress.sh bin/purrvision $(GO) build -tags $(DEV_TAGS) -trimpath -ldflags "$(LDFLAGS)" -o $@ ./cmd/purrvision

# The stamped version, rewritten only when it changes.
$(BIN)/.version: FORCE
	@mkdir -p $(BIN); echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

.PHONY: FORCE
FORCE:

# The image, built without a container engine (hack/mkimage,
# internal/image): the static binary without the dev tag, on nothing (no
# base image to pin), with CA certificates, time zone data and an SPDX
# SBOM, as the non-root user 65532. Every input is fixed by the commit
# (-trimpath, no build ID, the commit's time), so two builds of one commit
# give one digest. IMAGE_ARCH picks the architecture.
IMAGE_ARCH ?= $(shell $(GO) env GOARCH)
IMAGE_TAG ?= ghcr.io/purrvision/purrvision:$(VERSION)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: image
image: ## Build the image into bin/image (OCI layout) and bin/image.tar, and print its digest.
	@mkdir -p $(BIN)/image-build
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) GOFLAGS= $(GO) build -trimpath -buildvcs=false \
		-ldflags "-s -w -buildid= $(LDFLAGS)" -o $(BIN)/image-build/purrvision ./cmd/purrvision
	$(GO) run ./hack/mkimage -binary $(BIN)/image-build/purrvision -arch $(IMAGE_ARCH) -version $(VERSION) \
		-revision '$(REVISION)' -created $(SOURCE_DATE_EPOCH) -tag $(IMAGE_TAG) -layout $(BIN)/image -tar $(BIN)/image.tar

.PHONY: dev
dev: clusterbin build ## Run the whole system locally and walk the example store to Ready (stays up; Ctrl-C stops it).
	set -a; . $(BIN)/cluster.env; set +a; $(BIN)/purrvision dev $(DEV_FLAGS)

.PHONY: render
render: build ## Render the example store request into out/.
	$(BIN)/purrvision render -f examples/store-request.yaml --config examples/purrvision.yaml -o out

.PHONY: fmt
fmt: ## Check that gofmt has nothing to change.
	@files=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*')); \
	if [ -n "$$files" ]; then echo "gofmt would change:"; echo "$$files"; exit 1; fi

.PHONY: vet
vet: ## go vet every package, with and without the dev and e2e tags.
	$(GO) vet ./...
	$(GO) vet -tags $(DEV_TAGS) ./...
	$(GO) vet -tags e2e,$(DEV_TAGS) ./...

.PHONY: testbin
testbin: ## Build kube-apiserver, etcd and the sops, age and restic CLIs from the Go module proxy, collect the Flux CRDs, fetch GitHub's API description from npm (all cached).
	@mkdir -p $(BIN)
	hack/testbin.sh > $(BIN)/testbin.env

.PHONY: chromium
chromium: ## Install Debian's Chromium for the status page test, if missing.
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

.PHONY: mariadb
mariadb: ## Install Debian's MariaDB server and client for the backup scripts' test, if missing (the test starts its own server).
	@command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server mariadb-client >/dev/null; }

.PHONY: test
test: fmt vet testbin chromium mariadb ## gofmt, go vet, testbin, Chromium, MariaDB, then every test with the race detector.
	set -a; . $(BIN)/testbin.env; set +a; $(GO) test -tags $(DEV_TAGS) -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -run 'NotInThisBuild|ProductionBuild' ./cmd/purrvision

.PHONY: clusterbin
clusterbin: ## Build everything a local cluster runs (testbin, controller-manager, scheduler, kwok, Flux), cached.
	@mkdir -p $(BIN)
	hack/testbin.sh --cluster > $(BIN)/cluster.env.tmp
	hack/fluxbin.sh >> $(BIN)/cluster.env.tmp
	mv $(BIN)/cluster.env.tmp $(BIN)/cluster.env

.PHONY: e2e
e2e: clusterbin ## Run the end-to-end tests on a local cluster with Flux (no Docker), purrvision dev's included.
	set -a; . $(BIN)/cluster.env; set +a; $(GO) test -tags e2e,$(DEV_TAGS) -p 1 -count=1 -timeout 30m -v ./internal/localcluster ./e2e ./cmd/purrvision

.PHONY: golden
golden: ## Regenerate the renderer's golden files.
	$(GO) test ./renderer -run TestRender_Golden -update

.PHONY: bench
bench: testbin ## Run every benchmark BENCHMARKS.md records, each as it records it (BENCH=regexp picks some).
	set -a; . $(BIN)/testbin.env; set +a; \
	grep -E "^go test -run '\\^\\$$' -bench" BENCHMARKS.md | sed 's/  *#.*//' | sort -u | \
	while read -r cmd; do \
		if [ -n "$${BENCH:-}" ] && ! grep -qE -- "$$BENCH" <<<"$$cmd"; then continue; fi; \
		echo "== $$cmd"; eval "$(GO) $${cmd#go } -tags $(DEV_TAGS)"; \
	done

FUZZTIME ?= 30s
FUZZ_TARGETS := ./internal/api/v1alpha1:FuzzParse ./internal/provision:FuzzParseForm ./internal/provision:FuzzParseCommand ./internal/storestatus:FuzzState ./internal/storestatus:FuzzBody ./tenants:FuzzTrailers ./internal/provision:FuzzCheckPullDiff ./internal/rollout:FuzzParseWaves ./internal/rollout:FuzzParseMaxFailures ./renderer:FuzzFastYAML ./internal/doctest:FuzzExtract

.PHONY: fuzz
fuzz: ## Fuzz every parser, FUZZTIME (30s) each.
	@for t in $(FUZZ_TARGETS); do \
		echo "== $${t%%:*} $${t##*:}"; \
		$(GO) test "$${t%%:*}" -run '^$$' -fuzz "^$${t##*:}$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

.PHONY: clean
clean: ## Remove build output (not the cache).
	rm -rf $(BIN) out
