#!/usr/bin/env bash
# Compare blasnet's dense model with the NumPy, PyTorch and JAX references on this machine.
# Run with --help for usage.
set -euo pipefail

PROG=compare-frameworks.sh
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd -P)
REFERENCE_DIR="$SCRIPT_DIR/reference"
PYTHON=${PYTHON:-python3}

usage() {
    cat <<EOF
Usage: scripts/$PROG [--batch-sizes LIST] [--threads LIST] [--epochs N] [--warmup-epochs W]
                     [--repeats R] [--tools LIST] [--classes LIST|all]
                     [--data-dir DIR] [--keep-openblas-env] [--build]

Trains the dense model (784-128-64-1 with sigmoid + binary cross-entropy for two
classes, 784-128-64-K with softmax + cross-entropy for K >= 3; Adam; MNIST, by
default digits 0 vs 1) with
  blasnet   \$BLASNET_BIN train --json --model dense --engine blas
  numpy     scripts/reference/numpy_dense.py --json
  pytorch   scripts/reference/pytorch_dense.py --json
  jax       scripts/reference/jax_dense.py --json
and, when asked for with --tools,
  pytorch-ftz  scripts/reference/pytorch_dense.py --json --flush-denormals
each given the same --classes, --threads, --batch-size, --epochs (and --data-dir),
for every batch size x thread count, R times each (the repeats are interleaved
across tools and configurations), and prints one table: the median samples/s
over the repeats, the test accuracy, and blasnet/tool (>1: blasnet is faster),
the median of the per-repeat ratios: each pairs two runs seconds apart, as the
machine's speed can drift over minutes. A run's samples/s counts its epochs
after the first W (warm-up, as in blasnet bench: it holds JAX's compilation
and every tool's first-touch costs), from the per-epoch training seconds each
tool reports. A Python reference whose packages are not importable is
skipped with a one-line note.

Options:
  --batch-sizes LIST  comma-separated batch sizes (default: 32,256)
  --threads LIST      comma-separated thread counts (default: 1,2)
  --epochs N          epochs per run (default: 4)
  --warmup-epochs W   leading epochs of each run left out of samples/s; 0 counts
                      every epoch (default: 1; must be less than --epochs)
  --repeats R         runs per configuration; the median is reported (default: 3)
  --tools LIST        any of blasnet,numpy,pytorch,jax,pytorch-ftz (default:
                      blasnet,numpy,pytorch,jax). blasnet and JAX flush subnormal
                      floats to zero; PyTorch and NumPy keep them by default.
                      pytorch-ftz is PyTorch with torch.set_flush_denormal(True),
                      to compare with the same arithmetic.
  --classes LIST|all  the digits to classify, passed to every tool: 'all' (the
                      ten digits) or two or more distinct digits separated by
                      commas; class i is the i-th listed digit (default: 0,1)
  --data-dir DIR      MNIST directory passed to every tool
                      (default: each tool's own: \$BLASNET_DATA_DIR, else data/mnist)
  --keep-openblas-env run every tool with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
                      as the environment has them (default: removed for every
                      tool, so each library picks its own kernels for this CPU)
  --build             run 'swift build -c release' in the repository first even
                      when the binary exists (incremental)
  -h, --help          show this help

Environment:
  BLASNET_BIN   the blasnet binary (default: .build/release/blasnet in the
                repository; built with 'swift build -c release' when missing)
  PYTHON        the Python interpreter for the references (default: python3)

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE override OpenBLAS's kernel choice (blasnet's
and NumPy's; PyTorch and JAX use their own kernels): set to an older CPU's family
they make it pick slower kernels. Every tool runs with the same environment:
without both, unless --keep-openblas-env; the table's notes say which.
EOF
}

die() { echo "$PROG: error: $*" >&2; exit 1; }

positive_list() { # NAME VALUE
    [[ $2 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "$1 must be a comma-separated list of positive integers (got '$2')"
}

BATCH_SIZES=32,256
THREADS=1,2
EPOCHS=4
WARMUP_EPOCHS=1
REPEATS=3
TOOLS=blasnet,numpy,pytorch,jax
CLASSES=0,1
DATA_DIR=
FORCE_BUILD=0
KEEP_OPENBLAS_ENV=0

while [[ $# -gt 0 ]]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --batch-sizes|--threads|--epochs|--warmup-epochs|--repeats|--tools|--classes|--data-dir)
            [[ $# -ge 2 ]] || die "$1 needs a value"
            case $1 in
                --batch-sizes) BATCH_SIZES=$2 ;;
                --threads) THREADS=$2 ;;
                --epochs) EPOCHS=$2 ;;
                --warmup-epochs) WARMUP_EPOCHS=$2 ;;
                --repeats) REPEATS=$2 ;;
                --tools) TOOLS=$2 ;;
                --classes) CLASSES=$2 ;;
                --data-dir) DATA_DIR=$2 ;;
            esac
            shift 2 ;;
        --batch-sizes=*) BATCH_SIZES=${1#*=}; shift ;;
        --threads=*) THREADS=${1#*=}; shift ;;
        --epochs=*) EPOCHS=${1#*=}; shift ;;
        --warmup-epochs=*) WARMUP_EPOCHS=${1#*=}; shift ;;
        --repeats=*) REPEATS=${1#*=}; shift ;;
        --tools=*) TOOLS=${1#*=}; shift ;;
        --classes=*) CLASSES=${1#*=}; shift ;;
        --data-dir=*) DATA_DIR=${1#*=}; shift ;;
        --build) FORCE_BUILD=1; shift ;;
        --keep-openblas-env) KEEP_OPENBLAS_ENV=1; shift ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

positive_list --batch-sizes "$BATCH_SIZES"
positive_list --threads "$THREADS"
[[ $EPOCHS =~ ^[1-9][0-9]{0,5}$ ]] || die "--epochs must be a positive integer (got '$EPOCHS')"
[[ $WARMUP_EPOCHS =~ ^(0|[1-9][0-9]{0,5})$ ]] || die "--warmup-epochs must be a non-negative integer (got '$WARMUP_EPOCHS')"
(( WARMUP_EPOCHS < EPOCHS )) || die "--warmup-epochs ($WARMUP_EPOCHS) must be less than --epochs ($EPOCHS): no epoch would be timed"
[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || die "--repeats must be a positive integer (got '$REPEATS')"
[[ $CLASSES == all || $CLASSES =~ ^[0-9](,[0-9])+$ ]] || die "--classes must be 'all' or two or more digits separated by commas, like 0,1 or 3,5,8 (got '$CLASSES')"
if [[ $CLASSES != all ]]; then
    IFS=, read -r -a CLASS_LIST <<<"$CLASSES"
    [[ $(printf '%s\n' "${CLASS_LIST[@]}" | sort -u | wc -l) -eq ${#CLASS_LIST[@]} ]] || die "--classes must list different digits (got '$CLASSES')"
fi
IFS=, read -r -a BATCH_LIST <<<"$BATCH_SIZES"
IFS=, read -r -a THREAD_LIST <<<"$THREADS"
IFS=, read -r -a TOOL_LIST <<<"$TOOLS"
[[ ${#TOOL_LIST[@]} -gt 0 ]] || die "--tools must name at least one tool"
for tool in "${TOOL_LIST[@]}"; do
    case $tool in blasnet|numpy|pytorch|pytorch-ftz|jax) ;; *) die "unknown tool '$tool' in --tools (blasnet, numpy, pytorch, pytorch-ftz, jax)" ;; esac
done
if [[ -n $DATA_DIR && ! -d $DATA_DIR ]]; then
    die "MNIST directory $DATA_DIR does not exist; fetch it with scripts/fetch-mnist.sh $DATA_DIR"
fi
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (needed to read the JSON results)"

has_tool() { local t; for t in "${TOOL_LIST[@]}"; do [[ $t == "$1" ]] && return 0; done; return 1; }

# ---- the tools that can run
ACTIVE=()
if has_tool blasnet; then
    if [[ -n ${BLASNET_BIN:-} ]]; then
        [[ -x $BLASNET_BIN ]] || die "BLASNET_BIN=$BLASNET_BIN is not an executable file"
        if [[ $FORCE_BUILD == 1 ]]; then echo "$PROG: --build ignored: BLASNET_BIN is set" >&2; fi
    else
        BLASNET_BIN="$REPO_ROOT/.build/release/blasnet"
        if [[ $FORCE_BUILD == 1 || ! -x $BLASNET_BIN ]]; then
            command -v swift >/dev/null 2>&1 || die "swift not found on PATH (needed to build blasnet; see scripts/setup.sh)"
            echo "$PROG: building blasnet: swift build -c release" >&2
            (cd "$REPO_ROOT" && swift build -c release >&2) || die "swift build -c release failed"
            [[ -x $BLASNET_BIN ]] || die "swift build did not produce $BLASNET_BIN"
        fi
    fi
    ACTIVE+=(blasnet)
fi
if has_tool numpy; then
    if "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
        ACTIVE+=(numpy)
    else
        echo "numpy: not installed: pip install numpy" >&2
    fi
fi
for variant in pytorch pytorch-ftz; do
    has_tool $variant || continue
    if "$PYTHON" -c 'import numpy, torch' >/dev/null 2>&1; then
        ACTIVE+=($variant)
    elif ! "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
        echo "$variant: not installed: pip install numpy torch" >&2
    else
        echo "$variant: not installed: pip install torch --index-url https://download.pytorch.org/whl/cpu (CPU-only) or pip install torch" >&2
    fi
done
if has_tool jax; then
    if "$PYTHON" -c 'import numpy, jax' >/dev/null 2>&1; then
        ACTIVE+=(jax)
    else
        echo "jax: not installed: pip install jax" >&2
    fi
fi
[[ ${#ACTIVE[@]} -gt 0 ]] || die "no tool to run"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/compare-frameworks.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

DATA_ARGS=()
[[ -n $DATA_DIR ]] && DATA_ARGS=(--data-dir "$DATA_DIR")

# The same environment for every tool (see --keep-openblas-env).
TOOL_ENV=(env)
[[ $KEEP_OPENBLAS_ENV == 1 ]] || TOOL_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

run_tool() { # TOOL THREADS BATCH -> JSON object on stdout
    local tool=$1 threads=$2 batch=$3
    local common=(--json --classes "$CLASSES" --threads "$threads" --batch-size "$batch" --epochs "$EPOCHS" "${DATA_ARGS[@]}")
    case $tool in
        blasnet) "${TOOL_ENV[@]}" "$BLASNET_BIN" train --model dense --engine blas "${common[@]}" ;;
        numpy) "${TOOL_ENV[@]}" "$PYTHON" "$REFERENCE_DIR/numpy_dense.py" "${common[@]}" ;;
        pytorch) "${TOOL_ENV[@]}" "$PYTHON" "$REFERENCE_DIR/pytorch_dense.py" "${common[@]}" ;;
        pytorch-ftz) "${TOOL_ENV[@]}" "$PYTHON" "$REFERENCE_DIR/pytorch_dense.py" "${common[@]}" --flush-denormals ;;
        jax) "${TOOL_ENV[@]}" "$PYTHON" "$REFERENCE_DIR/jax_dense.py" "${common[@]}" ;;
    esac
}

total=$(( REPEATS * ${#THREAD_LIST[@]} * ${#BATCH_LIST[@]} * ${#ACTIVE[@]} ))
echo "$PROG: ${ACTIVE[*]}; classes $CLASSES; threads ${THREADS}; batch ${BATCH_SIZES}; $EPOCHS epoch(s), $WARMUP_EPOCHS warm-up; $REPEATS repeat(s): $total runs" >&2
n=0
failures=0
for ((repeat = 1; repeat <= REPEATS; repeat++)); do
    for threads in "${THREAD_LIST[@]}"; do
        for batch in "${BATCH_LIST[@]}"; do
            for tool in "${ACTIVE[@]}"; do
                n=$((n + 1))
                label="[$n/$total] $tool threads=$threads batch=$batch repeat $repeat/$REPEATS"
                if run_tool "$tool" "$threads" "$batch" >"$WORK/out" 2>"$WORK/err"; then
                    if "$PYTHON" - "$tool" "$threads" "$batch" "$repeat" "$WARMUP_EPOCHS" "$WORK/out" >>"$RESULTS" 2>"$WORK/parse" <<'EOF'
import json, sys
tool, threads, batch, repeat, warmup, path = sys.argv[1:]
lines = [l for l in open(path) if l.lstrip().startswith("{")]
if not lines:
    sys.exit("no JSON object in the output")
result = json.loads(lines[-1])
for key in ("train_count", "epoch_seconds", "test_accuracy", "test_errors", "test_count"):
    if key not in result:
        sys.exit(f"the JSON has no '{key}'")
timed = result["epoch_seconds"][int(warmup):]
if not timed:
    sys.exit(f"{len(result['epoch_seconds'])} epoch(s) leave no timed epoch after {warmup} warm-up epoch(s)")
if sum(timed) <= 0:
    sys.exit(f"the timed epochs took {sum(timed)} s")
rate = result["train_count"] * len(timed) / sum(timed)
print(json.dumps({"tool": tool, "threads": int(threads), "batch": int(batch),
                  "repeat": int(repeat), "rate": rate, "result": result}))
EOF
                    then
                        rate=$(tail -n 1 "$RESULTS" | "$PYTHON" -c 'import json,sys; line=json.load(sys.stdin); r=line["result"]; print("%.1fk samples/s, %d/%d test errors" % (line["rate"] / 1000, r["test_errors"], r["test_count"]))')
                        echo "$label: $rate" >&2
                    else
                        failures=$((failures + 1))
                        echo "$label: FAILED: $(tail -n 1 "$WORK/parse")" >&2
                    fi
                else
                    status=$?
                    failures=$((failures + 1))
                    echo "$label: FAILED (exit $status): $(tail -n 1 "$WORK/err")" >&2
                fi
            done
        done
    done
done

echo
"$PYTHON" - "$RESULTS" "$EPOCHS" "$WARMUP_EPOCHS" "$REPEATS" "$CLASSES" "${OPENBLAS_CORETYPE:-}" "${OPENBLAS_L2_SIZE:-}" "$KEEP_OPENBLAS_ENV" <<'EOF'
import json, os, statistics, sys
path, epochs, warmup, repeats, classes, coretype, l2, keep_env = sys.argv[1:]
if classes == "all":
    digits = "all 10 digits"
elif classes.count(",") == 1:
    digits = classes.replace(",", " vs ")
else:
    digits = f"digits {classes} ({classes.count(',') + 1} classes)"
runs = [json.loads(l) for l in open(path) if l.strip()]
if not runs:
    sys.exit("no successful run")
order = {"blasnet": 0, "numpy": 1, "pytorch": 2, "pytorch-ftz": 3, "jax": 4}
groups = {}
for run in runs:
    groups.setdefault((run["threads"], run["batch"], run["tool"]), []).append(
        run["result"] | {"rate": run["rate"], "repeat": run["repeat"]})

def median_rate(results):
    return statistics.median(r["rate"] for r in results)

rows = []
for (threads, batch, tool) in sorted(groups, key=lambda k: (k[0], k[1], order[k[2]])):
    results = groups[(threads, batch, tool)]
    rate = median_rate(results)
    accs = sorted(r["test_accuracy"] for r in results)
    errs = sorted(r["test_errors"] for r in results)
    acc = f"{accs[0] * 100:.2f}%" if accs[0] == accs[-1] else f"{accs[0] * 100:.2f}-{accs[-1] * 100:.2f}%"
    err = f"{errs[0]}" if errs[0] == errs[-1] else f"{errs[0]}-{errs[-1]}"
    err += f"/{results[0]['test_count']}"
    reported = sorted({r.get("threads", threads) for r in results})
    shown = str(threads) if reported == [threads] else f"{threads} (ran {','.join(map(str, reported))})"
    # The speed of these machines drifts over minutes; blasnet's run and the tool's run of one repeat
    # are seconds apart. So the ratio is the median of the per-repeat ratios.
    base = {r["repeat"]: r["rate"] for r in groups.get((threads, batch, "blasnet"), [])}
    paired = [base[r["repeat"]] / r["rate"] for r in results if r["repeat"] in base]
    ratio = f"{statistics.median(paired):.2f}" if paired else "-"
    rows.append([tool, shown, str(batch), f"{rate:,.0f}", acc, err, str(len(results)), ratio])

header = ["tool", "threads", "batch", "samples/s (median)", "test acc", "errors", "runs", "blasnet/tool"]
right = {1, 2, 3, 4, 5, 6, 7}
widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
def line(cells):
    return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
timed = int(epochs) - int(warmup)
print(f"dense model, MNIST {digits}, {epochs} epoch(s) per run ({warmup} warm-up, {timed} timed), median of {repeats} run(s); "
      f"{os.cpu_count()} CPU(s) online")
print("blasnet/tool: median over the repeats of blasnet's rate / the tool's rate in the same repeat")
print(line(header))
print(line(["-" * w for w in widths]))
for r in rows:
    print(line(r))
print()
details = {}  # tool -> {threads: what the tool reported about its engine, from its first run at that count}
for run in runs:
    text = run["result"].get("engine_details") or run["result"].get("engine", "?")
    if run["result"].get("flushes_subnormals"):
        text += "; subnormals flushed to zero"
    details.setdefault(run["tool"], {}).setdefault(run["threads"], text)
for tool in sorted(details, key=order.get):
    texts = details[tool]
    if len(set(texts.values())) == 1:
        print(f"{tool}: {next(iter(texts.values()))}")
    else:
        for threads, text in sorted(texts.items()):
            print(f"{tool}, {threads} thread(s): {text}")
variables = [f"{k}={v}" for k, v in (("OPENBLAS_CORETYPE", coretype), ("OPENBLAS_L2_SIZE", l2)) if v]
if variables:
    env, it = (variables[0], "it") if len(variables) == 1 else (" and ".join(variables), "them")
    if keep_env == "1":
        print(f"note: {env} set: every tool ran with {it} (--keep-openblas-env)")
    else:
        print(f"note: {env} set: every tool ran without {it} (each library chose its kernels; "
              f"--keep-openblas-env keeps {it})")
EOF

if [[ $failures -gt 0 ]]; then
    echo "$PROG: $failures run(s) failed (see above)" >&2
    exit 1
fi
