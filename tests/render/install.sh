#!/bin/sh
# What the card renderer tests need, installed when missing and quick when there: Chromium and a font with
# Arial's metrics (Debian packages) and the pinned npm packages (package-lock.json). Run by `make test`.
set -eu
cd "$(dirname "$0")"
need=""
command -v chromium >/dev/null 2>&1 || need="chromium fonts-liberation"
command -v npm >/dev/null 2>&1 || need="$need nodejs npm"
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $need for the Teams card renderer tests"
    # A registry out of reach must not stop the rest of the suite: the card tests then skip and say why.
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null; }; then
      echo "NOTE: could not install $need (is Debian's registry reachable?): the card renderer tests skip" >&2
      exit 0
    fi
  else
    echo "NOTE: $need missing and not installable here (needs root and apt-get): the card renderer tests skip" >&2
    exit 0
  fi
fi
# npm ci writes node_modules/.package-lock.json; newer than the lock file means installed as pinned.
if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error || echo "NOTE: npm ci failed: the card renderer tests will try again" >&2
fi
