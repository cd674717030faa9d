#!/usr/bin/env bash
# Prints the git ref `buf breaking` compares proto/ with: the landed main
# (origin/main in a clone, else main) when it differs from HEAD and has a
# proto/ directory; otherwise the parent of HEAD when it has one. Prints
# nothing when there is no earlier state to compare with.
set -euo pipefail
head=$(git rev-parse -q --verify HEAD 2>/dev/null) || exit 0
for ref in origin/main main HEAD~1; do
  sha=$(git rev-parse -q --verify "$ref^{commit}" 2>/dev/null) || continue
  [ "$sha" = "$head" ] && continue
  git cat-file -e "$sha:proto/buf.yaml" 2>/dev/null || continue
  echo "$sha"
  exit 0
done
