# Versions of everything built from the Go module proxy for tests and the
# local cluster. DEVELOPERS.md says why these and how to move them.
K8S_VERSION=1.37.2
SOURCE_CONTROLLER_VERSION=1.9.3
KUSTOMIZE_CONTROLLER_VERSION=1.9.6
HELM_CONTROLLER_VERSION=1.6.4
# sigs.k8s.io/gateway-api: its standard-channel CRDs (HTTPRoute, Gateway).
GATEWAY_API_VERSION=1.6.3
SOPS_VERSION=3.13.3
# restic, the backup tool of the store chart's backup and restore scripts
# (charts/woocommerce/scripts); Debian's is too old for restore --delete.
RESTIC_VERSION=0.18.1
KWOK_VERSION=0.8.0
# GitHub's published descriptions, from npm (hack/githubspec.sh).
OCTOKIT_OPENAPI_VERSION=23.0.2
OCTOKIT_OPENAPI_WEBHOOKS_VERSION=12.1.0
OCTOKIT_WEBHOOKS_SCHEMAS_VERSION=7.6.1
