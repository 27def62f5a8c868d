#!/bin/sh
# Fails if any plugin library reaches //core:core (the query result in $1
# lists the targets on such a path; it must be empty).
set -eu
if [ -s "$1" ]; then
  echo "A plugin library depends on //core:core; plugins may use only" >&2
  echo "//core:plugin_sdk. The dependency path:" >&2
  cat "$1" >&2
  exit 1
fi
echo "OK: no plugin library depends on //core:core"
