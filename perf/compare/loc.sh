#!/usr/bin/env bash
# loc.sh FILE...: lines of code, counted the same way for C++ and Erlang: lines that are not
# blank and not only a comment (// for C++, % for Erlang). Used to compare the kv_cluster example
# with its Erlang twin: perf/compare/loc.sh tools/examples/kv_cluster/kv_cluster.cc
# perf/compare/kv_cluster.escript
set -euo pipefail
for file in "$@"; do
  case "$file" in
    *.erl | *.escript) comment='^[[:space:]]*%' ;;
    *) comment='^[[:space:]]*//' ;;
  esac
  count=$(grep -v -E "^[[:space:]]*$" "$file" | grep -v -E "$comment" | grep -v -c '^#!' || true)
  echo "$count $file"
done
