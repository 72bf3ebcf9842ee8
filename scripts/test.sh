#!/usr/bin/env bash
# Every test VK Depot has: types, lint, build, then unit, integration and e2e tests
# against the real simulator (mutual TLS), the real keychain and Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
# A fresh clone works with `npm test` alone: the system packages first (installed when
# this user can; otherwise one install line and a stop), then the npm dependencies.
echo "== system packages (scripts/system-packages.txt)"; bash scripts/setup-system.sh test
if [[ ! -f node_modules/.package-lock.json ]]; then
  echo "== npm ci (no node_modules yet; the tests need no Electron binary, so none is downloaded)"
  ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}" npm ci --no-audit --no-fund
fi
echo "== type-check"; npm run --silent typecheck
echo "== lint"; npx eslint .
echo "== build (electron-vite, vkey bundle)"; npx electron-vite build -c electron.config.ts >/dev/null; node scripts/build-cli.mjs
mapfile -t files < <(find tests/unit tests/integration tests/e2e -name '*.test.ts' 2>/dev/null | sort)
echo "== tests (${#files[@]} files)"
exec scripts/with-keyring.sh node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
