// WorkerPool: a fixed set of threads, started once, that run one task together and meet at a barrier.
// A training step hands work out twice, so a hand-off must cost microseconds, not a thread
// wake-up through Dispatch: workers spin on an atomic generation counter, sleep on a condition variable
// only after a long idle spell (or when told to rest), and nothing is allocated per task.
import COpenBLAS
import Foundation
import Synchronization
import SwiftKernels

/// Work a pool runs: `perform(phase:worker:)` is called once per worker for each `run`.
public protocol WorkerJob: AnyObject {
    func perform(phase: Int, worker: Int)
}

/// Threads that run a `WorkerJob` with worker indices 0..<count; the caller is worker 0.
public final class WorkerPool: @unchecked Sendable {  // the task slot is guarded by the generation protocol
    public let count: Int
    /// What the threads share with the caller. The threads hold it, never the pool: a thread that starts
    /// only after the pool is gone still finds it (an unowned pool would trap there).
    private let shared: Shared
    private var threads: [Thread] = []

    /// How long a waiting worker spins before it sleeps: longer than the gaps in training — between two
    /// hand-offs, and at an epoch's end (shuffle, evaluation) — because waking a sleeping worker costs
    /// tens of microseconds on a quiet machine and, on a virtual machine whose host has given the idle
    /// virtual core away, often milliseconds (scripts/wake_latency.c; docs/performance.md, 2026-12-04);
    /// short enough that an idle pool soon leaves the core alone.
    private static let spinNanoseconds: UInt64 = 20_000_000
    /// Spins between two reads of the clock.
    private static let spinsPerClockRead = 1024

    /// `count` workers in all (count − 1 threads are started).
    public init(count: Int) {
        self.count = max(1, count)
        let shared = Shared()
        self.shared = shared
        for index in 1..<self.count {
            let thread = Thread { shared.work(index) }
            thread.name = "blasnet-worker-\(index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
    }

    deinit {
        shared.stopping.store(true, ordering: .releasing)
        shared.generation.add(1, ordering: .releasing)
        shared.lock.lock()
        shared.lock.broadcast()
        shared.lock.unlock()
        // Each thread's last touch of the shared state is counting itself out.
        while shared.exited.load(ordering: .acquiring) < count - 1 { sched_yield() }
    }

    /// Runs `job.perform(phase:worker:)` for every worker index in 0..<count, on the workers and the
    /// calling thread, in the caller's floating-point mode; returns when all have finished.
    public func run(_ job: any WorkerJob, phase: Int) {
        guard count > 1 else { job.perform(phase: phase, worker: 0); return }
        shared.job = job
        shared.phase = phase
        shared.mode = FloatingPointMode.current
        shared.resting.store(false, ordering: .relaxed)
        shared.remaining.store(count - 1, ordering: .relaxed)
        shared.generation.add(1, ordering: .releasing)
        shared.lock.lock()
        shared.lock.broadcast()
        shared.lock.unlock()
        job.perform(phase: phase, worker: 0)
        // The caller waits by spinning (the workers' share is short); yielding after a while lets a
        // descheduled worker back onto a busy core.
        var spins = 0
        while shared.remaining.load(ordering: .acquiring) > 0 {
            blasnet_spin_hint()
            spins += 1
            if spins > Self.spinsPerClockRead * 64 { sched_yield() }
        }
        shared.job = nil  // no worker reads it now; held, it would keep a job that owns the pool alive
    }

    /// Sends the waiting workers to sleep now rather than after their spin: for work the caller does alone,
    /// which spinning workers would only compete with for the host (its cores, its shared caches). The next
    /// `run` wakes them, at the cost of one wake-up.
    public func rest() {
        shared.resting.store(true, ordering: .relaxed)
    }

    /// Workers asleep now (for tests).
    var sleepingWorkers: Int { shared.sleepers.load(ordering: .relaxed) }

    /// Gets sleeping workers up to spin again (for as long as after a task), so that a `run` expected soon
    /// does not wait for them to wake: on a virtual machine that can take milliseconds.
    public func wake() {
        guard shared.resting.load(ordering: .relaxed) || shared.sleepers.load(ordering: .relaxed) > 0 else { return }
        shared.resting.store(false, ordering: .relaxed)
        shared.wakeups.add(1, ordering: .releasing)
        shared.lock.lock()
        shared.lock.broadcast()
        shared.lock.unlock()
    }

    private final class Shared: @unchecked Sendable {
        /// Bumped once per task; a worker runs the task when it sees a new value.
        let generation = Atomic<Int>(0)
        /// Workers (other than the caller) still running the current task.
        let remaining = Atomic<Int>(0)
        let stopping = Atomic<Bool>(false)
        /// Set by `rest`, cleared by `run`: waiting workers sleep at once instead of spinning.
        let resting = Atomic<Bool>(false)
        /// Bumped by `wake`: sleeping workers get up and spin again.
        let wakeups = Atomic<Int>(0)
        /// Workers asleep on the condition variable.
        let sleepers = Atomic<Int>(0)
        /// Threads that have returned (after `stopping`).
        let exited = Atomic<Int>(0)
        /// Written by `run` before the generation is bumped, read by workers after they see it, cleared by
        /// `run` once they are done. A class reference, so handing out a task allocates nothing.
        var job: (any WorkerJob)?
        var phase = 0
        var mode = FloatingPointMode.ieee
        let lock = NSCondition()

        func work(_ index: Int) {
            var seen = 0
            while true {
                var spins = 0
                var spinStart: UInt64 = 0
                var current = generation.load(ordering: .acquiring)
                while current == seen {
                    blasnet_spin_hint()
                    spins += 1
                    if spins % WorkerPool.spinsPerClockRead == 0 {
                        let now = DispatchTime.now().uptimeNanoseconds
                        if spinStart == 0 {
                            spinStart = now
                        } else if now - spinStart > WorkerPool.spinNanoseconds || resting.load(ordering: .relaxed) {
                            let wakeup = wakeups.load(ordering: .acquiring)
                            sleepers.add(1, ordering: .relaxed)
                            lock.lock()
                            while generation.load(ordering: .acquiring) == seen && wakeups.load(ordering: .acquiring) == wakeup {
                                lock.wait()
                            }
                            lock.unlock()
                            sleepers.subtract(1, ordering: .relaxed)
                            spinStart = 0  // a new spell of spinning
                        }
                    }
                    current = generation.load(ordering: .acquiring)
                }
                seen = current
                if stopping.load(ordering: .acquiring) {
                    exited.add(1, ordering: .releasing)
                    return
                }
                if let job { mode.perform { job.perform(phase: phase, worker: index) } }
                remaining.subtract(1, ordering: .releasing)
            }
        }
    }
}
