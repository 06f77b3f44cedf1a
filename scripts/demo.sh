#!/usr/bin/env bash
# npm run demo: start the local services, build, then run the end-to-end demo (scripts/demo.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/services.sh up
echo "== building"
npm run build --silent
node dist/scripts/demo.js "$@"
