#!/bin/sh
# fuzz.sh [seconds] runs every fuzz target in the module for that many
# seconds each (default 120), one after another. New failing inputs land in
# the package's testdata/fuzz/FuzzName/ directory; commit them as seeds once
# fixed.
#
#   scripts/fuzz.sh        # 2 minutes per target
#   scripts/fuzz.sh 30     # a quick pass
#   FUZZ_PARALLEL=1 scripts/fuzz.sh 60   # on a shared machine (go test -parallel)
#   FUZZ_MATCH=Signature scripts/fuzz.sh # only targets whose name matches
set -eu
secs=${1:-120}
case $secs in '' | *[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
par=${FUZZ_PARALLEL:+-parallel $FUZZ_PARALLEL}
match=${FUZZ_MATCH:-}

# go test -list prints the matching names of each package, then "ok  PKG".
targets=$(go test -list 'Fuzz.*' ./... | awk '
	/^Fuzz/ { names[n++] = $1; next }
	/^ok / { for (i = 0; i < n; i++) print $2, names[i]; n = 0 }
')
if [ -z "$targets" ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

failed=""
count=0
echo "$targets" | {
	while read -r pkg name; do
		case $name in *"$match"*) ;; *) continue ;; esac
		count=$((count + 1))
		echo "=== $pkg $name (${secs}s)"
		# shellcheck disable=SC2086
		if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" $par; then
			failed="$failed $pkg.$name"
		fi
	done
	echo
	if [ -n "$failed" ]; then
		echo "fuzz.sh: $count targets, failed:$failed"
		exit 1
	fi
	echo "fuzz.sh: $count targets, all passed (${secs}s each)"
}
