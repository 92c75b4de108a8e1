#!/usr/bin/env bash
# One entry point for people and CI. Each command first sets up what it needs (idempotent, fast when done):
#   ./dev.sh synth [ENV]   set up, then synthesize ENV (default: sandbox) into cdk.out/ - offline, no credentials
#   ./dev.sh test          set up (and install Debian's postgresql if missing), then run the whole test suite on
#                          every core (AVA_OLO_TEST_WORKERS=N for N processes; extra arguments go to pytest)
#   ./dev.sh check         lint the workflows; synthesize every environment and delivery config with the pinned
#                          cdk CLI (cdk-nag must pass) and cfn-lint the templates
#   ./dev.sh setup         only set up: .venv/ (requirements-dev.txt: both distributions editable) and node_modules/
set -euo pipefail
cd "$(dirname "$0")"

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"
export AWS_EC2_METADATA_DISABLED="${AWS_EC2_METADATA_DISABLED:-true}"   # no instance-metadata probing offline
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true      # the CLI phones nowhere
PYTHON="${PYTHON:-python3}"
VENV=.venv

fingerprint() { cat "$@" | sha256sum | cut -c1-16; }

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV" || {
      echo "error: '$PYTHON -m venv' failed; on Debian install it with: apt-get install python3-venv" >&2; exit 1; }
  fi
  local want; want=$(fingerprint requirements.txt requirements-dev.txt reference-service/requirements.txt pyproject.toml ops/pyproject.toml)
  if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    # A .venv from before the split had `ava-olo` from ava-olo-constructs; replacing that install removes the
    # script ava-olo-ops has just written. Put it back.
    [ -x "$VENV/bin/ava-olo" ] ||
      "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall -e ./ops
    echo "$want" > "$VENV/.installed"
  fi
  command -v npm >/dev/null || { echo "error: npm not found; install Node.js >= 20 (apt-get install nodejs npm)" >&2; exit 1; }
  want=$(fingerprint package.json package-lock.json)
  if [ "$(cat node_modules/.installed 2>/dev/null)" != "$want" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > node_modules/.installed
  fi
}

# The reference service's tests start a throwaway PostgreSQL cluster themselves (tests/reference_service/conftest.py);
# they need the server binaries of Debian's postgresql package. Installed without its default cluster: nothing
# is left running on the machine.
ensure_postgres() {
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && return
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "error: PostgreSQL server binaries not found (/usr/lib/postgresql/<version>/bin); install Debian's package as root: apt-get install -y postgresql" >&2
    exit 1
  fi
  mkdir -p /etc/postgresql-common
  [ -e /etc/postgresql-common/createcluster.conf ] || echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  local install=(env DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1 apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold postgresql)
  "${install[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && "${install[@]}" >/dev/null; } || {
    echo "error: apt-get install -y postgresql failed" >&2; exit 1; }
}

cdk() { ./node_modules/.bin/cdk "$@"; }

environments() { for f in environments/*.json; do basename "$f" .json; done; }

case "${1:-}" in
  setup) setup ;;
  synth)
    setup
    cdk synth --quiet -c env="${2:-sandbox}"
    echo "synthesized ${2:-sandbox} into cdk.out/ ($(ls cdk.out/*.template.json | tr '\n' ' '))"
    # The seed's deployment timeline for what was just synthesized (full picture: .venv/bin/ava-olo timeline FILE).
    for template in cdk.out/*Service.template.json; do
      "$VENV/bin/ava-olo" timeline "$template" | grep -E "expected|bad-version exposure:|rollback:" | sed "s|^ *|expected deploy ($(basename "$template" .template.json)): |"
    done
    ;;
  test)
    setup
    ensure_postgres
    # Every core (pytest-xdist; the session synthesis stays in one worker, see tests/conftest.py). A later
    # `-n 0` in the arguments runs it in this process, e.g. to use --pdb. Bytecode caches (__pycache__/, git-
    # ignored) are written even where PYTHONDONTWRITEBYTECODE is set: pytest keeps its rewritten test modules
    # there, which saves recompiling them on every run.
    PYTHONDONTWRITEBYTECODE= "$VENV/bin/python" -m pytest -n "${AVA_OLO_TEST_WORKERS:-auto}" --dist loadgroup "${@:2}"
    ;;
  check)
    setup
    node scripts/lint-workflows.cjs
    # GitHub Actions security audit, offline (no GitHub API): fails on any finding; ignores only in zizmor.yml.
    "$VENV/bin/zizmor" --offline --config zizmor.yml --no-progress .github/
    for env in $(environments); do
      out="cdk.out.check/$env"
      cdk synth --quiet -c env="$env" --output "$out"
      "$VENV/bin/cfn-lint" "$out"/*.template.json
      echo "✓ $env: synthesized with 0 unacknowledged cdk-nag findings; cfn-lint 0 errors, 0 warnings"
    done
    for delivery in delivery/*.json; do
      name=$(basename "$delivery" .json)
      out="cdk.out.check/delivery-$name"
      cdk synth --quiet -c delivery="$name" --output "$out"
      "$VENV/bin/cfn-lint" "$out"/*.template.json
      echo "✓ delivery $name: synthesized with 0 unacknowledged cdk-nag findings; cfn-lint 0 errors, 0 warnings"
    done
    ;;
  *)
    sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
