#!/usr/bin/env bash
# Packages every Lambda function the way `sam build` does (BuildMethod rust-cargolambda):
# `cargo lambda build --release` for Amazon Linux 2023, arm64 by default, one
# target/lambda/<name>/bootstrap.zip each, then prints their sizes.
# cargo-lambda (and zig, its cross-linker) install from PyPI into the ignored .venv.
#
#   bash scripts/package-functions.sh            # arm64, as template.yaml deploys
#   bash scripts/package-functions.sh --x86-64   # x86_64
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:---arm64}
case "$arch" in
  --arm64) target=aarch64-unknown-linux-gnu ;;
  --x86-64) target=x86_64-unknown-linux-gnu ;;
  *) echo "usage: $0 [--arm64|--x86-64]" >&2; exit 2 ;;
esac
if [ ! -x .venv/bin/cargo-lambda ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check cargo-lambda
fi
export PATH="$PWD/.venv/bin:$PATH"
if ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target" || {
    echo "error: the Rust standard library for $target is needed: rustup target add $target" >&2
    exit 1
  }
fi

packages=()
for dir in functions/*/; do packages+=(-p "reel-$(basename "$dir")"); done
cargo lambda build --release "$arch" --output-format zip "${packages[@]}"

printf '%-28s %10s\n' function "zip (MB)"
for zip in target/lambda/*/bootstrap.zip; do
  printf '%-28s %10.2f\n' "$(basename "$(dirname "$zip")")" "$(stat -c %s "$zip" | awk '{print $1 / 1e6}')"
done
