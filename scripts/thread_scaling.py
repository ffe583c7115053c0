#!/usr/bin/env python3
"""How blasnet's training scales with threads on this machine, measured the way the threads issue asks.

For each engine and batch size, starts `blasnet train --json` alternately with --threads 1 and --threads N
(one warm-up start of each first, not counted), `--starts` times each, and prints per configuration: the
median (and range) of samples/s at each count, the median of the per-pair ratios N ÷ 1 (each pair ran
seconds apart, as the host's speed drifts over minutes), and the slowest N-thread start ÷ the median
1-thread rate. On a virtual machine the host may take time from the virtual cores ("steal" in
/proc/stat): the table also gives the median steal per start, and N ÷ 1 over only the pairs in which
neither start lost more than one clock tick (10 ms) to it, beside the figure over all pairs. Before and
after the series it runs scripts/two_core_fma_throughput.c (built with gcc into a temporary directory; skipped
with a note where gcc or AVX-512 is missing, or with --no-probe) and prints the median and range of its
two-core ÷ one-core ratios: how much the host gave the second core just then. With --ceiling, each round also
starts N one-thread trainings at once, each pinned to its own CPU, and the table gives their summed rate ÷ the
round's one-thread rate: what the host gave N independent copies of the same work just then, the most any
N-thread design could reach. Right before each N-thread start it runs scripts/core_to_core_transfer.c (5000
rounds; also built with gcc, skipped with --no-probe): how long 2 × 32 KB took to cross between CPU 0 and CPU 1
just then. The table gives that time's median and range, and N ÷ 1 over only the pairs whose N-thread start
followed a quick hand-off (at most 1.5× the row's quickest): on some hosts the crossing is several times
slower for seconds at a time, and those are the starts where two threads gain least. Every start trains the
default model and task (dense, digits 0 and 1, 10 epochs) unless --classes / --epochs say otherwise. Use a
release build.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the environment of every start (OpenBLAS then
chooses its kernels for this CPU), unless --keep-openblas-env.

Example: scripts/thread_scaling.py --starts 10 --configs blas:32,blas:256,swift:32,swift:256
"""
import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=10, help="process starts per thread count (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="the thread count compared with 1 (default 2)")
    parser.add_argument("--configs", default="blas:32,blas:256,swift:32,swift:256",
                        help="ENGINE:BATCH pairs, comma-separated (default: both engines at 32 and 256)")
    parser.add_argument("--classes", default="0,1", help="passed to blasnet train --classes (default 0,1)")
    parser.add_argument("--epochs", type=int, default=10, help="passed to blasnet train --epochs (default 10)")
    parser.add_argument("--no-probe", action="store_true",
                        help="do not run the two-core FMA throughput probe before and after the series")
    parser.add_argument("--ceiling", action="store_true",
                        help="also time N one-thread starts at once, pinned to N CPUs: the host's ceiling for N threads")
    parser.add_argument("--keep-openblas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE in the environment")
    parser.add_argument("--blasnet", default=os.environ.get("BLASNET_BIN", os.path.join(REPOSITORY, ".build/release/blasnet")),
                        help="the blasnet binary (default: $BLASNET_BIN, else .build/release/blasnet)")
    options = parser.parse_args()
    if options.starts < 1 or options.threads < 2 or options.epochs < 1:
        parser.error("--starts and --epochs must be at least 1, --threads at least 2")
    configs = []
    for item in options.configs.split(","):
        engine, _, batch = item.partition(":")
        if engine not in ("blas", "swift") or not batch.isdigit() or int(batch) < 1:
            parser.error(f"--configs items are ENGINE:BATCH with ENGINE blas or swift (got '{item}')")
        configs.append((engine, batch))
    if not os.access(options.blasnet, os.X_OK):
        parser.error(f"{options.blasnet} is not an executable file; build it with 'swift build -c release'")
    environment = dict(os.environ)
    if not options.keep_openblas_env:
        for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            environment.pop(name, None)

    probe = None if options.no_probe else build_probe()
    transfer = None if options.no_probe else build_transfer_probe()

    def stolen_ticks() -> int:
        """Clock ticks the host has taken from this machine's cores so far (0 where not reported)."""
        try:
            with open("/proc/stat") as stat:
                fields = stat.readline().split()  # "cpu user nice system idle iowait irq softirq steal ..."
            return int(fields[8]) if fields[0] == "cpu" and len(fields) > 8 else 0
        except OSError:
            return 0

    def rate(engine: str, batch: str, threads: int) -> tuple[float, int]:
        """One start's samples/s and the ticks stolen while it ran."""
        stolen = stolen_ticks()
        result = subprocess.run(command(engine, batch, threads), capture_output=True, text=True, env=environment, cwd=REPOSITORY)
        stolen = stolen_ticks() - stolen
        if result.returncode != 0:
            sys.exit(f"thread_scaling.py: {' '.join(command(engine, batch, threads))} failed: {result.stderr.strip()}")
        return json.loads(result.stdout)["samples_per_second"], stolen

    n = options.threads
    cpus = sorted(os.sched_getaffinity(0))[:n]
    if options.ceiling and len(cpus) < n:
        parser.error(f"--ceiling needs {n} CPUs; this process may use {len(cpus)}")

    def command(engine: str, batch: str, threads: int) -> list[str]:
        return [options.blasnet, "train", "--engine", engine, "--batch-size", batch, "--threads", str(threads),
                "--classes", options.classes, "--epochs", str(options.epochs), "--json"]

    def together(engine: str, batch: str) -> float:
        """The summed samples/s of n one-thread starts run at once, each pinned to its own CPU."""
        starts = [subprocess.Popen(command(engine, batch, 1), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=environment, cwd=REPOSITORY,
                                   preexec_fn=lambda cpu=cpu: os.sched_setaffinity(0, {cpu}))
                  for cpu in cpus]
        total = 0.0
        for start in starts:
            output, errors = start.communicate()
            if start.returncode != 0:
                sys.exit(f"thread_scaling.py: {' '.join(start.args)} failed: {errors.strip()}")
            total += json.loads(output)["samples_per_second"]
        return total

    if probe:
        print(run_probe(probe, "before"))
    print(f"{n} threads / 1, {options.starts} alternating starts each; classes {options.classes}, "
          f"{options.epochs} epochs; samples/s as blasnet train --json reports it")
    print(f"engine  batch  1 thread median (range)   {n} threads median (range)   {n}/1 median of pairs  "
          f"slowest {n}-thread / median 1   steal ms/start (1 | {n})   {n}/1 without steal (pairs)"
          + (f"   {n}×1 at once / 1" if options.ceiling else "")
          + ("   hand-off µs (range)   {n}/1 after a quick hand-off (pairs)".format(n=n) if transfer else ""))
    for engine, batch in configs:
        rate(engine, batch, 1), rate(engine, batch, n)  # warm-up: page cache, CPU frequency
        one, many, one_stolen, many_stolen, ceilings, crossings = [], [], [], [], [], []
        for _ in range(options.starts):
            for rates, stolen, threads in ((one, one_stolen, 1), (many, many_stolen, n)):
                if transfer and threads == n:
                    crossings.append(run_transfer_probe(transfer))
                value, ticks = rate(engine, batch, threads)
                rates.append(value)
                stolen.append(ticks)
            if options.ceiling:
                ceilings.append(together(engine, batch) / one[-1])
        median_one = statistics.median(one)
        ratios = [b / a for a, b in zip(one, many)]
        quiet = [r for r, a, b in zip(ratios, one_stolen, many_stolen) if a <= 1 and b <= 1]
        quiet_text = f"{statistics.median(quiet):5.2f}× ({len(quiet)})" if quiet else "  –   (0)"
        ticks = os.sysconf("SC_CLK_TCK")
        print(f"{engine:6}  {batch:>5}  {median_one / 1e3:7.1f}k ({min(one) / 1e3:.0f}–{max(one) / 1e3:.0f}k)"
              f"      {statistics.median(many) / 1e3:7.1f}k ({min(many) / 1e3:.0f}–{max(many) / 1e3:.0f}k)"
              f"      {statistics.median(ratios):5.2f}×              {min(many) / median_one:.2f}"
              f"                    {1000 * statistics.median(one_stolen) / ticks:4.0f} | "
              f"{1000 * statistics.median(many_stolen) / ticks:<4.0f}               {quiet_text}"
              + (f"        {statistics.median(ceilings):5.2f}× ({min(ceilings):.2f}–{max(ceilings):.2f})" if ceilings else "")
              + (f"     {hand_off_text(crossings, ratios)}" if transfer else ""),
              flush=True)
    if probe:
        print(run_probe(probe, "after"))
    return 0


def build_c_probe(name: str, what: str):
    """Builds scripts/<name>.c with gcc into a temporary directory; returns the binary's path, or None with a
    note naming `what` where gcc cannot build it."""
    source = os.path.join(REPOSITORY, "scripts", f"{name}.c")
    directory = tempfile.mkdtemp(prefix="blasnet-probe-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    binary = os.path.join(directory, name)
    try:
        subprocess.run(["gcc", "-O2", "-pthread", source, "-o", binary], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"note: no {what} (gcc could not build {source}: {error})")
        return None
    return binary


def build_probe():
    """Builds the FMA throughput probe; returns its path, or None (with a note) where it cannot run here."""
    return build_c_probe("two_core_fma_throughput", "FMA probe")


def build_transfer_probe():
    """Builds the core-to-core transfer probe; returns its path, or None (with a note) where it cannot run here."""
    if not {0, 1} <= os.sched_getaffinity(0):
        print("note: no transfer probe (it needs CPUs 0 and 1)")
        return None
    return build_c_probe("core_to_core_transfer", "transfer probe")


def run_transfer_probe(binary: str) -> float:
    """Microseconds one round of the transfer probe took (2 × 32 KB across the cores), over 5000 rounds."""
    result = subprocess.run([binary, "5000"], capture_output=True, text=True, check=True)
    return float(result.stdout.split(":")[1].split()[0])


def hand_off_text(crossings: list[float], ratios: list[float]) -> str:
    """The hand-off times' median and range, and N ÷ 1 over the pairs that followed a quick one."""
    quick = [r for r, c in zip(ratios, crossings) if c <= 1.5 * min(crossings)]
    return (f"{statistics.median(crossings):5.1f} ({min(crossings):.1f}–{max(crossings):.1f})"
            f"          {statistics.median(quick):5.2f}× ({len(quick)})")


def run_probe(binary: str, when: str) -> str:
    """One line: the probe's two-core ÷ one-core ratios over 10 rounds."""
    result = subprocess.run([binary, "10"], capture_output=True, text=True)
    if result.returncode != 0:
        return f"FMA probe {when}: not run ({result.stderr.strip()})"
    ratios = [float(line.split()[2]) for line in result.stdout.splitlines()[1:] if len(line.split()) == 3]
    return (f"FMA probe {when}: two cores / one {statistics.median(ratios):.2f}× median of {len(ratios)} rounds "
            f"({min(ratios):.2f}–{max(ratios):.2f}×; ~2 when the host gives both cores their own FMA units)")


if __name__ == "__main__":
    sys.exit(main())
