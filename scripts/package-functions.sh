#!/usr/bin/env bash
# Builds the Lambda functions exactly as a deployment does: `sam validate --lint`, then
# `sam build --beta-features` (BuildMethod rust-cargolambda: `cargo lambda build
# --release` in each function's workspace member), then checks every artefact — a
# `bootstrap` ELF executable of the chosen architecture — and prints their sizes.
# The pinned aws-sam-cli, cargo-lambda and ziglang install into .venv-deploy
# (scripts/deploy-tools.sh). `sam deploy --guided` deploys what this leaves in .aws-sam/.
#
#   bash scripts/package-functions.sh                         # all ten functions
#   bash scripts/package-functions.sh --arch x86_64           # force an architecture
#   bash scripts/package-functions.sh UsersFunction DeletionWorkerFunction   # some
#
# Architecture: arm64 (the template's default) when the Rust standard library for
# aarch64-unknown-linux-gnu is installed, x86_64 otherwise; it is never downloaded here
# (CI has no network but the package registries). Deploy with the same value:
#   sam deploy --guided --parameter-overrides Architecture=<arch>
set -euo pipefail
cd "$(dirname "$0")/.."

arch=""
functions=()
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:?--arch needs arm64 or x86_64}; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: $0 [--arch arm64|x86_64] [FunctionLogicalId ...]" >&2; exit 2 ;;
    *) functions+=("$1"); shift ;;
  esac
done

aarch64_installed() {
  rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu
}
case "$arch" in
  "")
    if aarch64_installed; then arch=arm64; else
      arch=x86_64
      echo "note: the aarch64-unknown-linux-gnu standard library is not installed, so this builds x86_64" >&2
      echo "      (for arm64: rustup target add aarch64-unknown-linux-gnu); deploy with Architecture=x86_64" >&2
    fi ;;
  arm64)
    aarch64_installed || {
      echo "error: arm64 needs the Rust standard library for aarch64: rustup target add aarch64-unknown-linux-gnu" >&2
      exit 1
    } ;;
  x86_64) ;;
  *) echo "error: --arch must be arm64 or x86_64, not $arch" >&2; exit 2 ;;
esac
case "$arch" in
  arm64) elf_machine="b7 00"; elf_name=aarch64 ;;
  x86_64) elf_machine="3e 00"; elf_name=x86-64 ;;
esac

# shellcheck source=scripts/deploy-tools.sh
. scripts/deploy-tools.sh
command -v cargo >/dev/null || { echo "error: cargo is required: install Rust with rustup" >&2; exit 1; }

# The template's logical id of each crate of functions/: users -> UsersFunction.
logical_id() {
  local id="" part
  IFS=- read -ra parts <<<"$1"
  for part in "${parts[@]}"; do id+="${part^}"; done
  echo "${id}Function"
}
# All of them: one `sam build`, whose .aws-sam/build is what `sam deploy` uploads. Some:
# `sam build` takes one resource at a time and empties its build directory each time, so
# each goes to .aws-sam/build-<id> (artefacts to check, not a deployable template).
build_dir() { if [ "$all" = 1 ]; then echo .aws-sam/build; else echo ".aws-sam/build-$1"; fi; }
all=0
if [ ${#functions[@]} -eq 0 ]; then
  all=1
  for dir in functions/*/; do functions+=("$(logical_id "$(basename "$dir")")"); done
fi

echo "== sam validate --lint"
sam validate --lint

echo "== sam build --beta-features ($arch): ${functions[*]}"
started=$SECONDS
if [ "$all" = 1 ]; then
  sam build --beta-features --parameter-overrides "Architecture=$arch"
else
  for fn in "${functions[@]}"; do
    sam build --beta-features "$fn" --parameter-overrides "Architecture=$arch" --build-dir "$(build_dir "$fn")"
  done
fi
echo "built in $((SECONDS - started)) s"

echo "== artefacts ($elf_name ELF executables)"
printf '%-30s %12s %s\n' function "size (MB)" "architecture"
status=0
for fn in "${functions[@]}"; do
  bootstrap=$(build_dir "$fn")/$fn/bootstrap
  if [ ! -x "$bootstrap" ]; then
    echo "error: $bootstrap is missing or not executable" >&2; status=1; continue
  fi
  magic=$(od -An -t x1 -N 4 "$bootstrap" | xargs)
  machine=$(od -An -t x1 -j 18 -N 2 "$bootstrap" | xargs)
  if [ "$magic" != "7f 45 4c 46" ] || [ "$machine" != "$elf_machine" ]; then
    echo "error: $bootstrap is not a $elf_name ELF executable (magic $magic, machine $machine)" >&2
    status=1; continue
  fi
  printf '%-30s %12.2f %s\n' "$fn" "$(stat -c %s "$bootstrap" | awk '{print $1 / 1e6}')" "$elf_name"
done
exit $status
