#!/usr/bin/env bash
# Every test VK Depot has: types, lint, build, then unit, integration and e2e tests
# against the real simulator (mutual TLS), the real keychain and Debian's Chromium.
#   scripts/test.sh [FILE.test.ts…]  only these test files, without type-check, lint and build
#   VKEY_TEST_CONCURRENCY=N          test files run at once (default 4: they mostly wait on I/O)
set -euo pipefail
cd "$(dirname "$0")/.."
ms() { date +%s%3N; }
seconds() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
# Processor time (user + system, ms) of the processes this script has waited for: /proc's
# cutime and cstime (fields 16 and 17, in ticks of 10 ms). 0 where there is no /proc.
cpu_ms() { local f; read -ra f <"/proc/$$/stat" 2>/dev/null || { echo 0; return; }; echo $(((f[15] + f[16]) * 10)); }
started=$(ms)
times=()
# `phase KEY "what it does"`: ends the phase before it (its time, and the processor time of
# what it ran when that is over a second, go into the summary at the end).
phase() {
  local now cpu; now=$(ms); cpu=$(cpu_ms)
  if [[ -n "${phase_key:-}" ]]; then
    local cpu_used=$((cpu - phase_cpu)) note=""
    ((cpu_used >= 1000)) && note=" (cpu $(seconds "$cpu_used") s)"
    times+=("$phase_key $(seconds $((now - phase_start))) s$note")
  fi
  phase_key="$1"; phase_start=$now; phase_cpu=$cpu
  [[ -n "${2:-}" ]] && echo "== $2"
  return 0
}
# A fresh clone works with `npm test` alone: the system packages first (installed when
# this user can; otherwise one install line and a stop), then the npm dependencies.
phase system "system packages (scripts/system-packages.txt)"; bash scripts/setup-system.sh test
if [[ ! -f node_modules/.package-lock.json ]]; then
  phase npm-ci "npm ci (no node_modules yet; the tests need no Electron binary, so none is downloaded)"
  ELECTRON_SKIP_BINARY_DOWNLOAD="${ELECTRON_SKIP_BINARY_DOWNLOAD:-1}" npm ci --no-audit --no-fund
fi
logs="" run_dir=""
trap 'rm -rf "$logs" "$run_dir"' EXIT # also when a check or a test is interrupted
if [[ $# -eq 0 ]]; then
  # The build first (the tests run what it makes); type-check and lint + format check, each
  # single-threaded, run beside it and then beside the tests, whose processes leave part of the
  # two cores idle while they wait on the disk, the network and Chromium. Their output is shown,
  # and a failure fails the run, once the tests end. tsc (--incremental), eslint and prettier
  # (--cache) keep what they found under node_modules/.cache (package.json): a rerun checks
  # again only what changed.
  phase build "build (electron-vite, vkey bundle); type-check and lint + format check beside it and the tests"
  logs="$(mktemp -d)"
  # `job NAME COMMAND…`: its output in $logs/NAME, its time in $logs/NAME.ms.
  job() { local name=$1 start; shift; start=$(ms); { "$@"; } >"$logs/$name" 2>&1; local rc=$?; echo $(($(ms) - start)) >"$logs/$name.ms"; return $rc; }
  build() { npx electron-vite build -c electron.config.ts >/dev/null && node scripts/build-cli.mjs; }
  lint() { npm run --silent lint; }
  job type-check npm run --silent typecheck & typecheck=$!
  job lint lint & lint=$!
  if ! job build build; then
    cat "$logs/build"
    kill "$typecheck" "$lint" 2>/dev/null
    echo "npm test: the build failed (above); no tests were run." >&2
    exit 1
  fi
fi

# One folder for this run, removed at the end whatever happens: the tests' temp folders
# (TMPDIR, which must be empty again when they end), the simulator's demo key material made
# once for all tests, and the ports reserved for servers that restart (tests/helpers/ports.ts).
# 0711: PostgreSQL runs as the postgres user and must reach its cluster folder inside.
system_tmp="${TMPDIR:-/tmp}"
run_dir="$(mktemp -d "$system_tmp/vkey-test-run-XXXXXX")"
chmod 0711 "$run_dir"
mkdir -m 0711 "$run_dir/tmp"
# tsx keeps its compile cache in $TMPDIR/tsx-UID: this one is its usual cache, kept between runs.
mkdir -p "$system_tmp/tsx-$(id -u)" && ln -s "$system_tmp/tsx-$(id -u)" "$run_dir/tmp/tsx-$(id -u)"
export VKEY_TEST_RUN_DIR="$run_dir" TMPDIR="$run_dir/tmp"
# What Chromium and its helpers keep under ~/.config goes into this run's folder too, so nothing is
# left in the user's home (a PulseAudio runtime link into a removed TMPDIR was found there after a run).
mkdir -m 0700 "$run_dir/config" && export XDG_CONFIG_HOME="$run_dir/config"

phase material "simulator key material (made once, copied into each test's simulator folder)"
node --import tsx tests/helpers/sim-material.ts "$run_dir/sim-material"
export VKEY_TEST_SIM_MATERIAL="$run_dir/sim-material"
# Each test file's processor time, for the table at the end (tests/helpers/cpu-usage.mjs).
mkdir "$run_dir/cpu"
export VKEY_TEST_CPU_DIR="$run_dir/cpu"

# The longest files start first (node --test starts them in this order, N at a time), so no
# long file starts last and runs alone at the end: by the times of the last run on this machine
# (test-results/test-times.txt, written below; a file it does not name counts as long), or
# without one e2e, then integration, then unit files.
times_file=test-results/test-times.txt
longest_first() {
  awk -v have="$([[ -f $times_file ]] && echo 1)" '
    FILENAME != "-" { if (have && $2 == "s" && $NF ~ /\.test\.ts$/) last[$NF] = $1; next }
    { guess = $0 ~ /^tests\/e2e\// ? 3 : $0 ~ /^tests\/integration\// ? 2 : 1
      print (have ? ($0 in last ? last[$0] : 1e9) : guess) "\t" $0 }' "$([[ -f $times_file ]] && echo "$times_file" || echo /dev/null)" - |
    sort -t $'\t' -k1,1gr -s | cut -f2-
}
if [[ $# -gt 0 ]]; then files=("$@"); else mapfile -t files < <(find tests/unit tests/integration tests/e2e -name '*.test.ts' 2>/dev/null | sort | longest_first); fi
phase tests "tests (${#files[@]} files)"
status=0
scripts/with-keyring.sh node --import tsx --import ./tests/helpers/cpu-usage.mjs --test --test-concurrency="${VKEY_TEST_CONCURRENCY:-4}" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=./tests/helpers/timing-reporter.mjs --test-reporter-destination="$run_dir/timing.txt" \
  "${files[@]}" || status=$?
head -n 11 "$run_dir/timing.txt" 2>/dev/null || true
# The whole table, for the next run's order (above) and for reading.
[[ $# -eq 0 && -s "$run_dir/timing.txt" ]] && mkdir -p test-results && cp "$run_dir/timing.txt" "$times_file"

# The checks that ran beside the tests: their output, and a failure fails the run.
if [[ $# -eq 0 ]]; then
  phase checks "type-check and lint + format check"
  failed=()
  for each in type-check:$typecheck lint:$lint; do
    name=${each%%:*}
    wait "${each#*:}" || failed+=("$name")
    [[ -s "$logs/$name" ]] && { echo "-- $name"; cat "$logs/$name"; }
    times+=("$name $(seconds "$(cat "$logs/$name.ms" 2>/dev/null || echo 0)") s")
  done
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "npm test: ${failed[*]} failed (above)." >&2
    [[ $status -eq 0 ]] && status=1
  fi
fi

# Nothing left behind: every folder a test made under TMPDIR is gone (tsx's cache link aside).
phase leftovers
mapfile -t left < <(find "$TMPDIR" -mindepth 1 -maxdepth 1 ! -name 'tsx-*' -printf '%f\n' | sort)
if [[ ${#left[@]} -gt 0 ]]; then
  echo "tests left ${#left[@]} item(s) in their temp folder (removed now): ${left[*]:0:20}" >&2
  [[ $status -eq 0 ]] && status=1
fi
phase ""
summary=$(printf '%s, ' "${times[@]}")
echo "== npm test: $(seconds $(($(ms) - started))) s in all (${summary%, }); exit $status"
exit "$status"
