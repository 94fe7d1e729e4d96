#!/usr/bin/env bash
# Installs the pinned deployment tools (scripts/requirements-deploy.txt: aws-sam-cli,
# cargo-lambda, ziglang) into the project's ignored .venv-deploy when they are missing
# or the pins changed, and puts them first on PATH. Source it:
#   . scripts/deploy-tools.sh && sam --version && cargo lambda --version
# SAM_CLI_TELEMETRY=0: no usage reports from builds (CI has no network but registries).
deploy_venv="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv-deploy"
deploy_pins="$(dirname "${BASH_SOURCE[0]}")/requirements-deploy.txt"
if ! cmp -s "$deploy_pins" "$deploy_venv/.installed" 2>/dev/null; then
  command -v python3 >/dev/null 2>&1 || {
    echo "error: python3 with venv is required for the deployment tools (Debian: apt-get install python3 python3-venv)" >&2
    return 1 2>/dev/null || exit 1
  }
  echo "installing aws-sam-cli, cargo-lambda and ziglang into .venv-deploy" >&2
  python3 -m venv "$deploy_venv" \
    && "$deploy_venv/bin/pip" install --quiet --disable-pip-version-check -r "$deploy_pins" \
    && cp "$deploy_pins" "$deploy_venv/.installed" \
    || { echo "error: installing the deployment tools failed" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$deploy_venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
unset deploy_venv deploy_pins
