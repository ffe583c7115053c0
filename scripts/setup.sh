#!/usr/bin/env bash
# Prepare a Debian/Ubuntu machine for building and testing blasnet. Run with --help for usage.
set -euo pipefail

PROG=setup.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
APT_PACKAGES_HINT="pkg-config libopenblas-dev liblapacke-dev libcairo2-dev zlib1g-dev fonts-dejavu-core"

usage() {
    cat <<EOF
Usage: scripts/$PROG [--from DIR]... [--skip-mnist]

Prepares a Debian/Ubuntu machine for blasnet:
  1. installs the system packages the build needs, only those missing:
       $APT_PACKAGES_HINT
     (one 'apt-get update' first, then a non-interactive 'apt-get install';
     as root, or through sudo when not root);
  2. checks that the Swift toolchain ('swift') is on PATH;
  3. runs scripts/fetch-mnist.sh to put the verified MNIST files in data/mnist.

Re-running is cheap: nothing is installed or fetched when it is already there.

Options:
  --from DIR     passed to fetch-mnist.sh: a local directory holding the MNIST
                 files (gzipped or raw); may be repeated
  --skip-mnist   do not fetch MNIST
  -h, --help     show this help

Environment:
  BLASNET_MNIST_MIRROR, BLASNET_MNIST_BASE_URLS   honoured by fetch-mnist.sh
                 (see scripts/fetch-mnist.sh --help)
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

FETCH_ARGS=()
SKIP_MNIST=0
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --from)
            if [ $# -lt 2 ] || [ -z "$2" ]; then usage_error "option --from needs a directory argument"; fi
            FETCH_ARGS+=(--from "$2"); shift 2 ;;
        --from=*)
            [ -n "${1#--from=}" ] || usage_error "option --from needs a directory argument"
            FETCH_ARGS+=(--from "${1#--from=}"); shift ;;
        --skip-mnist) SKIP_MNIST=1; shift ;;
        *) usage_error "unknown argument: $1" ;;
    esac
done

# ---------------------------------------------------------------- system packages
dpkg_installed() {
    have dpkg-query || return 1
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

lapacke_header() {
    local d
    for d in /usr/include /usr/local/include /usr/include/*-linux-gnu /usr/include/*/openblas* \
             /usr/include/*-linux-gnu/openblas*; do
        [ -f "$d/lapacke.h" ] && { printf '%s\n' "$d/lapacke.h"; return 0; }
    done
    return 1
}

MISSING=()
if ! have pkg-config && ! dpkg_installed pkg-config; then
    MISSING+=(pkg-config)
fi
if ! dpkg_installed libopenblas-dev && ! { have pkg-config && pkg-config --exists openblas; }; then
    MISSING+=(libopenblas-dev)
fi
if ! dpkg_installed liblapacke-dev && ! lapacke_header >/dev/null; then
    MISSING+=(liblapacke-dev)
fi
# Cairo draws the pictures; DejaVu Sans is the font they are drawn in on every machine.
if ! dpkg_installed libcairo2-dev && ! { have pkg-config && pkg-config --exists cairo; }; then
    MISSING+=(libcairo2-dev)
fi
# zlib reads gzipped IDX files (libcairo2-dev brings it in; named for the manifest's pkg-config check).
if ! dpkg_installed zlib1g-dev && ! { have pkg-config && pkg-config --exists zlib; }; then
    MISSING+=(zlib1g-dev)
fi
if ! dpkg_installed fonts-dejavu-core && [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    MISSING+=(fonts-dejavu-core)
fi

if [ ${#MISSING[@]} -gt 0 ]; then
    have apt-get || die "missing: ${MISSING[*]}, and apt-get is not available; install OpenBLAS and LAPACKE development files (with openblas.pc for pkg-config) and pkg-config by hand"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        have sudo || die "missing packages: ${MISSING[*]}; not root and sudo is not available. As root run: apt-get update && apt-get install -y ${MISSING[*]}"
        SUDO=(sudo)
    fi
    log "installing ${MISSING[*]} (apt-get update + install)"
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || die "apt-get update failed"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${MISSING[@]}" \
        || die "apt-get install ${MISSING[*]} failed"
else
    log "system packages present ($APT_PACKAGES_HINT)"
fi

# Whatever the route, SwiftPM needs pkg-config to find openblas, and the C shim needs lapacke.h.
have pkg-config || die "pkg-config is still not on PATH"
pkg-config --exists openblas \
    || die "pkg-config cannot find 'openblas' (openblas.pc); install libopenblas-dev or set PKG_CONFIG_PATH"
hdr=$(lapacke_header) || die "lapacke.h not found; install liblapacke-dev"
pkg-config --exists cairo || die "pkg-config cannot find 'cairo' (cairo.pc); install libcairo2-dev"
log "openblas $(pkg-config --modversion openblas) via pkg-config; $hdr"

# ---------------------------------------------------------------- swift
SWIFT_OK=1
if have swift; then
    ver=$(swift --version 2>&1 | grep -o 'Swift version [0-9][0-9.]*' | head -n 1 || true)
    log "swift: ${ver:-$(command -v swift)}"
    major=${ver#Swift version }
    major=${major%%.*}
    if [ -n "$major" ] && [ "$major" -lt 6 ] 2>/dev/null; then
        log "warning: Package.swift needs swift-tools-version 6.0; this toolchain is $ver"
    fi
else
    SWIFT_OK=0
    log "error: 'swift' not found on PATH. Install a Swift 6 toolchain for Linux (see swift.org/install, or swiftly)"
    log "       and put its usr/bin on PATH, e.g. export PATH=/opt/swift/usr/bin:\$PATH"
fi

# ---------------------------------------------------------------- MNIST
if [ "$SKIP_MNIST" = 1 ]; then
    log "skipping MNIST (--skip-mnist)"
else
    "$SCRIPT_DIR/fetch-mnist.sh" ${FETCH_ARGS[@]+"${FETCH_ARGS[@]}"}
fi

[ "$SWIFT_OK" = 1 ] || die "setup incomplete: swift is missing (see above)"
log "done"
