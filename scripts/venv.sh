# Sourced by the scripts that need pinned Python tools. `ensure_venv DIR PINS` makes the
# ignored virtualenv DIR hold exactly the requirements file PINS, installing only when
# the pins changed since the last install (recorded in DIR/.installed).
ensure_venv() {
  local dir=$1 pins=$2
  cmp -s "$pins" "$dir/.installed" 2>/dev/null && return 0
  command -v python3 >/dev/null 2>&1 || {
    echo "error: python3 with venv is required (Debian: apt-get install python3 python3-venv)" >&2
    return 1
  }
  echo "installing $pins into $dir" >&2
  python3 -m venv "$dir" \
    && "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$pins" \
    && cp "$pins" "$dir/.installed" \
    || { echo "error: installing $pins into $dir failed" >&2; return 1; }
}
