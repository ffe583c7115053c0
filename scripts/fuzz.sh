#!/usr/bin/env bash
# Fuzz one of blasnet's readers of untrusted files with libFuzzer + AddressSanitizer.
#
#   scripts/fuzz.sh idx|pgm|safetensors [seconds] [-- extra libFuzzer args]
#
#   seconds   how long to fuzz (default 600). 0 = build, then only replay the corpus once (-runs=0):
#             a quick regression run over the seed corpus plus everything found so far.
#   extra     passed to the fuzz binary after the script's own flags (later flags win), e.g.
#             -- -use_value_profile=1, or -- -seed=42 to repeat a run. One process only by default.
#
# How it builds: no SwiftPM and no unsafeFlags in Package.swift. The harness (Fuzz/FuzzNAME.swift) and
# the few library files the reader needs are compiled straight into one module with
#   swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6
# (libFuzzer supplies main(); the harness exports LLVMFuzzerTestOneInput via @_cdecl). Compiling the
# sources into the harness module, rather than building the BlasNet target with sanitizer flags, keeps
# the fuzz build independent of the package's other targets (OpenBLAS, the SIMD kernels, the CLI's
# main) and lets harnesses reach internal API. The files per reader:
#   idx          Data/IDXReader.swift + Data/RegularFile.swift
#   pgm          Data/PGMReader.swift + Data/IDXReader.swift (readDigit reads via IDXReader.readFile)
#                + Data/RegularFile.swift
#   safetensors  Persistence/Safetensors.swift + Persistence/JSONParser.swift + Persistence/AtomicFile.swift
#                + Data/RegularFile.swift
# (all under Sources/BlasNetIO). If a reader starts using another file of the module, the build fails
# with "cannot find 'X' in scope": add the file defining X to the list in the case statement below.
#
# Everything goes under .build-fuzz/ (git-ignored): the binary and logs in .build-fuzz/NAME/, the working
# corpus in .build-fuzz/corpus-NAME (seeded from Fuzz/corpus/NAME, kept between runs), crash / leak /
# timeout / OOM inputs in .build-fuzz/artifacts-NAME/. Reproduce one with
#   SWIFT_BACKTRACE=enable=no .build-fuzz/NAME/fuzz-NAME path/to/artifact
# (without SWIFT_BACKTRACE=enable=no the Swift runtime's crash reporter competes with libFuzzer's on a
# trap and can hang), and minimise it with -minimize_crash=1 -runs=10000. Interesting corpus entries worth keeping can be
# copied into Fuzz/corpus/NAME: FuzzRegressionTests runs every file there through the reader, and
# expects valid-* files to be read and bad-* files to be rejected (other names: either, without a crash).
#
# Ends with a one-line summary (executions, corpus size, artifacts) and exits non-zero if the build
# failed or the run produced a crash, leak, timeout or out-of-memory artifact.
set -euo pipefail

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -ge 1 ] || usage
name=$1
shift
seconds=600
if [ $# -ge 1 ] && [ "$1" != "--" ]; then
    seconds=$1
    shift
fi
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: seconds must be a whole number, got '$seconds'" >&2; exit 2; }
if [ $# -ge 1 ]; then
    [ "$1" = "--" ] || usage
    shift
fi
extra=("$@")

script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$script")/.."


# Per reader: library sources, harness, libFuzzer -max_len, dictionary tokens.
case $name in
    idx)
        sources=(Sources/BlasNetIO/Data/IDXReader.swift Sources/BlasNetIO/Data/RegularFile.swift)
        max_len=65536  # room for headers with big dimensions and for a few real 28×28 images
        ;;
    pgm)
        sources=(Sources/BlasNetIO/Data/PGMReader.swift Sources/BlasNetIO/Data/IDXReader.swift
                 Sources/BlasNetIO/Data/RegularFile.swift)
        max_len=4096   # a 16-bit 28×28 digit is 1,568 bytes plus its header
        ;;
    safetensors)
        sources=(Sources/BlasNetIO/Persistence/Safetensors.swift Sources/BlasNetIO/Persistence/JSONParser.swift
                 Sources/BlasNetIO/Persistence/AtomicFile.swift
                 Sources/BlasNetIO/Data/RegularFile.swift)
        max_len=65536
        ;;
    *) usage ;;
esac
harness=Fuzz/Fuzz$(case $name in idx) echo IDX ;; pgm) echo PGM ;; safetensors) echo Safetensors ;; esac).swift
for file in "$harness" "${sources[@]}"; do
    [ -f "$file" ] || { echo "fuzz.sh: $file is missing" >&2; exit 1; }
done

out=.build-fuzz/$name
corpus=.build-fuzz/corpus-$name
artifacts=.build-fuzz/artifacts-$name
seeds=Fuzz/corpus/$name
binary=$out/fuzz-$name
mkdir -p "$out" "$corpus" "$artifacts"

# Build (again only if the harness, a source or this script changed).
if [ ! -x "$binary" ] || [ -n "$(find "$harness" "${sources[@]}" "$script" -newer "$binary" 2>/dev/null)" ]; then
    echo "fuzz.sh: building $binary from $harness ${sources[*]}" >&2
    build_log=$out/build.log
    # -I Sources/CZlib: IDXReader inflates gzipped files through zlib's module map (it links libz).
    if ! swiftc -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 -I Sources/CZlib \
        -module-name "BlasNetFuzz${name}" "$harness" "${sources[@]}" -o "$binary.tmp" >"$build_log" 2>&1; then
        # ld.gold warns once per ASan helper symbol; those lines are noise.
        grep -v "Cannot export local symbol" "$build_log" >&2 || true
        echo "fuzz.sh: build failed (full log: $build_log); if a symbol of BlasNet is missing, add its file" \
            "to the sources of '$name' in $script" >&2
        exit 1
    fi
    grep -v "Cannot export local symbol" "$build_log" >&2 || true
    mv "$binary.tmp" "$binary"
fi

# Dictionaries of format tokens help libFuzzer past keyword comparisons.
dict=()
case $name in
    pgm)
        printf '%s\n' '"P5"' '"28"' '"255"' '"256"' '"65535"' '"65536"' '"#"' '" "' '"\x0a"' '"\x0d"' '"\x09"' \
            '"1000000"' '"1000001"' >"$out/pgm.dict"
        dict=(-dict="$out/pgm.dict")
        ;;
    safetensors)
        printf '%s\n' '"{"' '"}"' '"["' '"]"' '":"' '","' '"\""' '"\"dtype\""' '"\"F32\""' '"\"F16\""' \
            '"\"shape\""' '"\"data_offsets\""' '"\"__metadata__\""' '"true"' '"false"' '"null"' '"\\u"' \
            '"\\ud83d\\ude00"' '"9223372036854775807"' '"9223372036854775808"' '"18446744073709551615"' \
            '"4611686018427387904"' '"e+"' '"-0"' '"0.5"' >"$out/safetensors.dict"
        dict=(-dict="$out/safetensors.dict")
        ;;
esac

# Seed the working corpus (never overwriting what earlier runs found).
if [ -d "$seeds" ]; then
    cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
fi

if [ "$seconds" -eq 0 ]; then
    limit=(-runs=0)
else
    limit=(-max_total_time="$seconds")
fi

stamp=$out/.run-stamp
touch "$stamp"
sleep 1  # artifacts of this run are the files newer than the stamp (1 s mtime granularity on some file systems)
log=$out/fuzz-$(date +%Y%m%d-%H%M%S).log
echo "fuzz.sh: running $binary for ${seconds}s on $corpus (log: $log)" >&2

# The Swift runtime's own crash reporter would race libFuzzer's and can hang on a trap; libFuzzer and
# ASan print the stack instead.
started=$SECONDS
set +e
SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1} \
    "$binary" "${limit[@]}" -timeout=5 -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "${extra[@]}" "$corpus" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
elapsed=$((SECONDS - started))

# Summary.
stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
executions=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
added=$(stat new_units_added)
coverage=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
files=$(find "$corpus" -type f | wc -l)
bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
mapfile -t found < <(find "$artifacts" -type f -newer "$stamp" | sort)
if [ ${#found[@]} -eq 0 ]; then
    crashes=0
else
    crashes="${#found[@]} (${found[*]})"
fi
echo "fuzz $name: ${executions:-?} executions in ${elapsed}s (${rate:-?}/s), ${coverage:-cov: ?}," \
    "corpus $files files / $bytes bytes (+${added:-?} new), crashes/leaks/timeouts/OOMs: $crashes," \
    "libFuzzer exit $status, log $log"

if [ ${#found[@]} -gt 0 ] || [ "$status" -ne 0 ]; then
    exit 1
fi
