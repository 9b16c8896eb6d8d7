# Image URL to use all building/pushing image targets
IMG ?= ghcr.io/toolregistry/mcp-registry-operator:latest

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# CONTAINER_TOOL defines the container tool to be used for building images.
CONTAINER_TOOL ?= docker

# Setting SHELL to bash allows bash commands to be executed by recipes.
# Options are set to exit when a recipe line exits non-zero or a piped command fails.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate ClusterRole and CustomResourceDefinition objects.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./internal/...;./cmd/..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate code containing DeepCopy, DeepCopyInto, and DeepCopyObject method implementations.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code.
	go vet ./...

.PHONY: verify
verify: manifests generate fmt kustomize ## Fail when generated code, CRDs, RBAC, the Helm chart, go.mod or formatting differ from what is committed.
	go mod tidy
	cd hack/controlplane && go mod tidy
	cd test/helm && go mod tidy
	go run ./hack/chart --kustomize "$(KUSTOMIZE)" --config config --out dist/chart --check
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "Not gofmt-ed (go fmt skips files behind build tags such as e2e):"; echo "$$unformatted"; exit 1; fi
	@changed=$$(git status --porcelain -- api config cmd internal test hack dist/chart go.mod go.sum); \
	if [ -n "$$changed" ]; then \
		echo "Generated or formatted files differ from the commit; run 'make manifests generate fmt' and commit:"; \
		echo "$$changed"; git --no-pager diff --stat -- api config cmd internal test hack dist/chart; exit 1; \
	fi

.PHONY: test
test: manifests generate fmt vet setup-envtest oidc-provider chart build-installer ## Run unit and envtest tests against the control plane built from source (and test/oauthserver against oidc-provider, test/helm against the chart and the bundle).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test $$(go list ./... | grep -v /test/e2e) -coverprofile cover.out
	cd test/helm && KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test ./...

.PHONY: test-e2e
test-e2e: build build-installer setup-envtest server-everything oidc-provider ## Run the e2e scenarios on a local control plane with the garbage collector, bin/manager, kubectl, server-everything and oidc-provider.
	go build -o bin/mcp-test-server ./hack/mcp-test-server
	go test -tags e2e ./test/e2e/ -v -count=1 -timeout 30m $(E2E_FLAGS)

.PHONY: soak
soak: build build-installer setup-envtest ## Run the randomized soak (test/soak) for SOAK_DURATION from SOAK_SEED, judged by an independent observer; fails on any violation.
	SOAK_DURATION="$(SOAK_DURATION)" SOAK_SEED="$(SOAK_SEED)" go test -tags soak ./test/soak/ -run TestSoak -v -count=1 -timeout $(SOAK_TIMEOUT)

.PHONY: server-everything
server-everything: ## Install the pinned @modelcontextprotocol/server-everything (hack/server-everything) into bin/server-everything.
	@if ! cmp -s hack/server-everything/package-lock.json "$(LOCALBIN)/server-everything/package-lock.json" || \
		[ ! -d "$(LOCALBIN)/server-everything/node_modules/@modelcontextprotocol/server-everything" ]; then \
		rm -rf "$(LOCALBIN)/server-everything" && mkdir -p "$(LOCALBIN)/server-everything" && \
		cp hack/server-everything/package.json hack/server-everything/package-lock.json "$(LOCALBIN)/server-everything/" && \
		cd "$(LOCALBIN)/server-everything" && npm ci --no-audit --no-fund --ignore-scripts; \
	fi

.PHONY: oidc-provider
oidc-provider: ## Install the pinned oidc-provider (hack/oidc-provider) into bin/oidc-provider; hack/oidc-provider/server.mjs imports it from there.
	@if ! cmp -s hack/oidc-provider/package-lock.json "$(LOCALBIN)/oidc-provider/package-lock.json" || \
		[ ! -d "$(LOCALBIN)/oidc-provider/node_modules/oidc-provider" ]; then \
		rm -rf "$(LOCALBIN)/oidc-provider" && mkdir -p "$(LOCALBIN)/oidc-provider" && \
		cp hack/oidc-provider/package.json hack/oidc-provider/package-lock.json "$(LOCALBIN)/oidc-provider/" && \
		cd "$(LOCALBIN)/oidc-provider" && npm ci --no-audit --no-fund --ignore-scripts; \
	fi

.PHONY: bench
bench: setup-envtest ## Benchmark bin/manager on the local control plane with the garbage collector: deletion (cascade vs the floor, the garbage collector and a raw DeleteCollection; unblock p99) and sync (vs a plain client; writes per change), one table; then live sync on envtest and the registry API (1,000 servers x 20 tools against a static file). See docs/performance.md.
	go build -o bin/manager ./cmd
	BENCH_ROUNDS=$(BENCH_ROUNDS) KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test ./test/bench/ -run '^$$' -bench '^BenchmarkOperator$$' -benchtime=1x -timeout 60m
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test ./internal/controller/ -run '^$$' -bench 'BenchmarkLiveSync' -benchtime=1x
	go test ./internal/registryapi/ -run '^$$' -bench BenchmarkRegistryList -benchtime=1x

# BENCH_ROUNDS is how many paired rounds 'make bench' runs (medians are reported).
BENCH_ROUNDS ?= 3

.PHONY: bench-scale
bench-scale: setup-envtest ## Benchmark many tenants: SCALE_SERVERS MCPServers x SCALE_TOOLS tools, 10 consumers each, at each of SCALE_FRACTIONS of that size (apply, RSS and heap, idle writes and CPU, unblock p99, a namespace delete), one table. See docs/performance.md.
	go build -o bin/manager ./cmd
	SCALE_SERVERS=$(SCALE_SERVERS) SCALE_TOOLS=$(SCALE_TOOLS) SCALE_IDLE=$(SCALE_IDLE) SCALE_FRACTIONS="$(SCALE_FRACTIONS)" \
		KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test ./test/bench/ -run '^$$' -bench '^BenchmarkScale$$' -benchtime=1x -timeout 240m

# The size of 'make bench-scale' at full size, its idle time, and the fractions of it run.
SCALE_SERVERS ?= 1000
SCALE_TOOLS ?= 20
SCALE_IDLE ?= 10m
SCALE_FRACTIONS ?= 0.25 0.5 1

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager and the kubectl mcp plugin (bin/manager, bin/kubectl-mcp).
	go build -o bin/manager ./cmd
	go build -o bin/kubectl-mcp ./cmd/kubectl-mcp

.PHONY: run
run: manifests generate fmt vet setup-envtest ## Run the operator on an embedded local control plane (USE_EXISTING_CLUSTER=true: on the current kubeconfig).
	go build -o bin/manager ./cmd
	go build -o bin/kubectl-mcp ./cmd/kubectl-mcp
	go build -o bin/localcluster ./hack/localcluster
	go build -o bin/mcp-test-server ./hack/mcp-test-server
	bin/localcluster --assets "$(ENVTEST_ASSETS)" --crds config/crd/bases --dir "$(LOCALBIN)/local-cluster" \
		--use-existing-cluster="$(USE_EXISTING_CLUSTER)" \
		$(if $(filter true,$(RUN_TEST_SERVER)),--sidecar "bin/mcp-test-server --addr=$(TEST_SERVER_ADDR) --token=local-dev-token") \
		-- bin/manager --health-probe-bind-address=127.0.0.1:8081 --endpoint-allow-cidrs=127.0.0.0/8 --registry-bind-address=127.0.0.1:8082 $(RUN_ARGS)

.PHONY: run-test-server
run-test-server: ## Run only the test MCP server that config/samples points at (127.0.0.1:8090, token local-dev-token).
	go run ./hack/mcp-test-server --addr=$(TEST_SERVER_ADDR) --token=local-dev-token

# USE_EXISTING_CLUSTER=true makes 'make run' install the CRDs into, and run against, the cluster of
# the current kubeconfig instead of starting a local control plane.
USE_EXISTING_CLUSTER ?= false
# RUN_ARGS are extra flags passed to the manager by 'make run', e.g. RUN_ARGS="--zap-log-level=debug".
RUN_ARGS ?=
# RUN_TEST_SERVER=true makes 'make run' also start the test MCP server that config/samples points at.
RUN_TEST_SERVER ?= true
# E2E_FLAGS are extra go test flags for 'make test-e2e', e.g. E2E_FLAGS="-run TestForceDelete".
E2E_FLAGS ?=
TEST_SERVER_ADDR ?= 127.0.0.1:8090
# SOAK_DURATION is how long 'make soak' runs random operations; SOAK_SEED (default random) replays
# a run; SOAK_TIMEOUT bounds the whole test (raise it with SOAK_DURATION beyond 20m).
SOAK_DURATION ?= 3m
SOAK_SEED ?=
SOAK_TIMEOUT ?= 30m

# The image cannot be built on machines without a container engine; the Dockerfile is kept correct by construction.
.PHONY: docker-build
docker-build: ## Build docker image with the manager.
	$(CONTAINER_TOOL) build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager.
	$(CONTAINER_TOOL) push ${IMG}

.PHONY: build-installer
build-installer: manifests generate kustomize ## Generate a consolidated YAML with CRDs and deployment in dist/install.yaml.
	mkdir -p dist
	rm -rf "$(LOCALBIN)/installer" && mkdir -p "$(LOCALBIN)/installer" && cp -r config "$(LOCALBIN)/installer/"
	cd "$(LOCALBIN)/installer/config/manager" && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build "$(LOCALBIN)/installer/config/default" > dist/install.yaml

.PHONY: chart
chart: manifests kustomize ## Generate the Helm chart dist/chart from the kustomize sources in config/ (hack/chart).
	go run ./hack/chart --kustomize "$(KUSTOMIZE)" --config config --out dist/chart

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy controller to the K8s cluster specified in ~/.kube/config.
	rm -rf "$(LOCALBIN)/installer" && mkdir -p "$(LOCALBIN)/installer" && cp -r config "$(LOCALBIN)/installer/"
	cd "$(LOCALBIN)/installer/config/manager" && $(KUSTOMIZE) edit set image controller=${IMG}
	$(KUSTOMIZE) build "$(LOCALBIN)/installer/config/default" | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Undeploy controller from the K8s cluster specified in ~/.kube/config. Call with ignore-not-found=true to ignore resource not found errors during deletion.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Dependencies

## Location to install dependencies to
LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

## Kubernetes version of the local control plane; keep it in step with hack/controlplane/go.mod.
K8S_VERSION ?= 1.37.1
GOOS ?= $(shell go env GOOS)
GOARCH ?= $(shell go env GOARCH)
## Same layout as setup-envtest, so KUBEBUILDER_ASSETS and IDE fallbacks find the binaries.
ENVTEST_ASSETS ?= $(LOCALBIN)/k8s/$(K8S_VERSION)-$(GOOS)-$(GOARCH)

## Tool Binaries
KUBECTL ?= $(ENVTEST_ASSETS)/kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen

## Tool Versions
KUSTOMIZE_VERSION ?= v5.8.2
CONTROLLER_TOOLS_VERSION ?= v0.23.0

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Build kustomize locally if necessary.
$(KUSTOMIZE): $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen locally if necessary.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: setup-envtest
setup-envtest: ## Build etcd, kube-apiserver, kube-controller-manager and kubectl from source into bin/k8s/ (skipped when current).
	@hack/controlplane/build.sh "$(ENVTEST_ASSETS)" "$(K8S_VERSION)"

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Building $${package}" ;\
rm -f $(1) || true ;\
GOBIN=$(LOCALBIN) go install $${package} ;\
mv $(1) $(1)-$(3) ;\
} ;\
ln -sf $(1)-$(3) $(1)
endef
