#!/bin/sh
# Seed 000's "2-multi": stamps out N copies of 1-raw's pod (multi-0 .. multi-N-1), each with
# its own hostname and claim, behind one headless service, as a kind: List for kubectl.
#   examples/patterns/2-multi/generate.sh 3 | kubectl apply -f -
# Nothing watches them afterwards: a deleted pod stays deleted (the StatefulSet fixes that).
set -e
n="${1:?usage: generate.sh N}"
dir="$(dirname "$0")"
jq -n --argjson n "$n" \
  --slurpfile svc "$dir/service.json" --slurpfile pod "$dir/pod.json" --slurpfile claim "$dir/claim.json" '
  def named($name): walk(if type == "string" then gsub("NAME"; $name) else . end);
  { apiVersion: "v1", kind: "List",
    items: ($svc + [range(0; $n) | "multi-\(.)" as $name | ($claim[0], $pod[0]) | named($name)]) }'
