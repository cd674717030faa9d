#!/usr/bin/env bash
# Prints the commits `buf breaking` compares proto/ with: the last 20 commits
# before HEAD that changed the .proto files. Stored events must stay readable
# forever, so a change must be compatible with every earlier contract, not
# only with the previous commit. Prints nothing when there is no history.
set -euo pipefail
git rev-parse -q --verify HEAD >/dev/null 2>&1 || exit 0
git log --format=%H -n 20 HEAD~1 -- proto/avenir proto/buf.yaml 2>/dev/null || true
