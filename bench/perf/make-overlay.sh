#!/bin/sh
# A node_modules overlay with patched engine packages, for `bench:perf --variant NAME:bundle-dir=DIR/chilly-perf`:
# DIR/node_modules links every package of the repository, except the data-path packages, which are
# copies with the patches applied. Nothing in the repository changes.
#
#   bench/perf/make-overlay.sh [--unpatched] /tmp/chilly-overlay-x [bench/perf/patches/A.patch …]
#
# --unpatched first reverses the product's engine patches (patches/*.patch, which patch-package
# applied to node_modules), so the overlay starts from the engine as published ("before").
set -eu
unpatched=no
if [ "${1:-}" = --unpatched ]; then unpatched=yes; shift; fi
[ $# -ge 1 ] || { echo "usage: $0 [--unpatched] OUT_DIR [PATCH…]" >&2; exit 2; }
out=$1
shift
repo=$(cd "$(dirname "$0")/../.." && pwd)
case "$out" in /tmp/*) ;; *) echo "$0: OUT_DIR must be under /tmp" >&2; exit 2 ;; esac
rm -rf "$out"
mkdir -p "$out/node_modules" "$out/chilly-perf"
for entry in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
  ln -s "$entry" "$out/node_modules/$(basename "$entry")"
done
copy() {
  if [ -L "$out/node_modules/$1" ]; then
    rm "$out/node_modules/$1"
    cp -R "$repo/node_modules/$1" "$out/node_modules/$1"
  fi
}
# The data path is copied whole, so a patched package is found by its importer (a symlinked
# package would resolve its imports from the repository's node_modules instead).
for pkg in webtorrent bittorrent-protocol torrent-piece immediate-chunk-store fs-chunk-store random-access-file; do
  copy "$pkg"
done
if [ $unpatched = yes ]; then
  for patch in "$repo"/patches/*.patch; do
    for pkg in $(sed -n -E 's#^\+\+\+ b/node_modules/([^/]+)/.*#\1#p' "$patch" | sort -u); do copy "$pkg"; done
    (cd "$out" && patch -R -s -p1 < "$patch")
  done
fi
for patch in "$@"; do
  patch=$(cd "$(dirname "$patch")" && pwd)/$(basename "$patch")
  for pkg in $(sed -n -E 's#^\+\+\+ b/node_modules/([^/]+)/.*#\1#p' "$patch" | sort -u); do copy "$pkg"; done
  (cd "$out" && patch -s -p1 < "$patch")
done
echo "$out/chilly-perf"
