#!/usr/bin/env bash
# Lints template.yaml: the YAML loads (CloudFormation tags and all), every checkov skip
# in it has a reason, cfn-lint reports nothing (errors, warnings or informational), and
# checkov reports no failed check. Exits non-zero on any finding.
# Assumes the project's .venv (see scripts/requirements-test.txt):
#   python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt
set -euo pipefail
cd "$(dirname "$0")/.."

template=template.yaml
venv=.venv/bin
for tool in python cfn-lint checkov; do
  if [ ! -x "$venv/$tool" ]; then
    echo "error: $venv/$tool is missing; install the test tools:" >&2
    echo "  python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements-test.txt" >&2
    exit 1
  fi
done

echo "== YAML ($template loads with CloudFormation tags; checkov skips have reasons)"
"$venv/python" - "$template" <<'EOF'
import sys
import yaml

class CfnLoader(yaml.SafeLoader):
    """Accepts CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""

def tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}

CfnLoader.add_multi_constructor("!", tagged)

def no_duplicate_keys(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {dup}", node.start_mark)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)

CfnLoader.construct_mapping = no_duplicate_keys

path = sys.argv[1]
with open(path) as f:
    template = yaml.load(f, Loader=CfnLoader)
resources = template.get("Resources") or {}
if not resources:
    sys.exit(f"{path}: no Resources")
problems = []
for name, resource in resources.items():
    metadata = resource.get("Metadata") or {}
    for skip in (metadata.get("checkov") or {}).get("skip") or []:
        if not str(skip.get("comment", "")).strip():
            problems.append(f"{name}: checkov skip {skip.get('id')} has no comment (reason)")
    for check in ((metadata.get("cfn-lint") or {}).get("config") or {}).get("ignore_checks") or []:
        print(f"note: {name} ignores cfn-lint {check}")
if problems:
    sys.exit("\n".join(problems))
print(f"{path}: {len(resources)} resources")
EOF

echo "== cfn-lint $template"
"$venv/cfn-lint" --version
# Exit status: bit 2 errors, bit 4 warnings, bit 8 informational; any is a failure.
"$venv/cfn-lint" "$template"
echo "cfn-lint: no errors, warnings or informational findings"

echo "== checkov -f $template --framework cloudformation"
echo "checkov $("$venv/checkov" --version)"
# --skip-download: offline (no Prisma Cloud guidelines). checkov exits 0 when it cannot
# parse the file, so the summary line is checked too.
status=0
out=$("$venv/checkov" -f "$template" --framework cloudformation --quiet --compact --skip-download 2>&1) || status=$?
echo "$out"
summary=$(grep -E '^Passed checks: [0-9]+, Failed checks: [0-9]+, Skipped checks: [0-9]+' <<<"$out" || true)
if [ "$status" -ne 0 ] || [ -z "$summary" ] || ! grep -q 'Failed checks: 0,' <<<"$summary" \
  || grep -q 'Parsing errors' <<<"$summary" || grep -q '^Passed checks: 0,' <<<"$summary"; then
  echo "error: checkov found failed checks or could not scan $template" >&2
  exit 1
fi
echo "template lint: OK"
