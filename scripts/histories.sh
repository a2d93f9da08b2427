#!/usr/bin/env bash
# Re-records the replay histories in workflows/testdata from real runs
# (make histories). The integration tests run against a real dev server on
# the committed TEST-ONLY key (workflows/testdata/test.keys); each test that
# calls saveHistory exports its instance's history with the official CLI
# and no codec, i.e. encrypted as the server holds it. Only once the run
# passes are the new files copied over the committed ones; then the replay
# test and the plaintext-sentinel test run on them.
#
#   make histories                      # every integration test
#   make histories RUN='TestLoan|TestOrder'   # only the tests that record these
set -euo pipefail
cd "$(dirname "$0")/.."

RUN=${RUN:-.}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "Recording histories (integration tests matching '$RUN', test-only key)..."
if ! BATON_RECORD_HISTORIES="$out" go test -count=1 -timeout 20m -run "$RUN" ./integration/... \
     | grep -av '^{"level'; then
  echo "make histories: the integration run failed; workflows/testdata is unchanged" >&2
  exit 1
fi
shopt -s nullglob
recorded=("$out"/*.json)
if [ ${#recorded[@]} -eq 0 ]; then
  echo "make histories: no test matching '$RUN' recorded a history; workflows/testdata is unchanged" >&2
  exit 1
fi
cp "${recorded[@]}" workflows/testdata/
echo "Recorded ${#recorded[@]} histories:"
for f in "${recorded[@]}"; do echo "  workflows/testdata/$(basename "$f")"; done
for f in workflows/testdata/*.json; do
  [ -e "$out/$(basename "$f")" ] || echo "  kept (not recorded by this run; delete it if no test records it any more): $f"
done
go test -count=1 -run 'TestReplayRecordedHistories|TestCommittedHistoriesHoldNoPersonalDataInClear' ./workflows/
