#!/usr/bin/env bash
# Installs the pinned deployment tools (scripts/requirements-deploy.txt: aws-sam-cli,
# cargo-lambda, ziglang) into the project's ignored .venv-deploy when they are missing
# or the pins changed, and puts them first on PATH. Source it:
#   . scripts/deploy-tools.sh && sam --version && cargo lambda --version
# SAM_CLI_TELEMETRY=0: no usage reports from builds (CI has no network but registries).
deploy_scripts="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deploy_venv="$(dirname "$deploy_scripts")/.venv-deploy"
deploy_pins="$deploy_scripts/requirements-deploy.txt"
# shellcheck source=scripts/venv.sh
. "$deploy_scripts/venv.sh"
ensure_venv "$deploy_venv" "$deploy_pins" || return 1 2>/dev/null || exit 1
export PATH="$deploy_venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
unset deploy_scripts deploy_venv deploy_pins
