// WorkerPool: a fixed set of threads, started once, that run one task together and meet at a barrier.
// A training step hands work out twice (the batch's rows, then the parameters' slices), so a hand-off
// must cost microseconds, not a thread wake-up through Dispatch: workers spin briefly on an atomic
// generation counter, then sleep on a condition variable, and nothing is allocated per task.
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
    /// Bumped once per task; a worker runs the task when it sees a new value.
    private let generation = Atomic<Int>(0)
    /// Workers (other than the caller) still running the current task.
    private let remaining = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    /// Set by `rest`, cleared by `run`: waiting workers sleep at once instead of spinning.
    private let resting = Atomic<Bool>(false)
    /// Threads that have returned (after `stopping`).
    private let exited = Atomic<Int>(0)
    /// Written by `run` before the generation is bumped, read by workers after they see it. A class
    /// reference, so handing out a task allocates nothing.
    nonisolated(unsafe) private var job: (any WorkerJob)?
    nonisolated(unsafe) private var phase = 0
    nonisolated(unsafe) private var mode = FloatingPointMode.ieee
    private let lock = NSCondition()
    private var threads: [Thread] = []

    /// How long a waiting worker spins before it sleeps: much longer than the gap between two hand-offs
    /// of a step (waking a sleeping thread costs tens of microseconds, a step's phase about as much), short
    /// enough that an idle pool (between epochs, during evaluation) soon leaves the core alone.
    private static let spinNanoseconds: UInt64 = 2_000_000
    /// Spins between two reads of the clock.
    private static let spinsPerClockRead = 1024

    /// `count` workers in all (count − 1 threads are started).
    public init(count: Int) {
        self.count = max(1, count)
        for index in 1..<self.count {
            let thread = Thread { [unowned self] in self.work(index) }
            thread.name = "blasnet-worker-\(index)"
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        generation.add(1, ordering: .releasing)
        lock.lock()
        lock.broadcast()
        lock.unlock()
        // Each thread's last touch of the pool is counting itself out.
        while exited.load(ordering: .acquiring) < count - 1 { sched_yield() }
    }

    /// Runs `job.perform(phase:worker:)` for every worker index in 0..<count, on the workers and the
    /// calling thread, in the caller's floating-point mode; returns when all have finished.
    public func run(_ job: any WorkerJob, phase: Int) {
        guard count > 1 else { job.perform(phase: phase, worker: 0); return }
        self.job = job
        self.phase = phase
        mode = FloatingPointMode.current
        resting.store(false, ordering: .relaxed)
        remaining.store(count - 1, ordering: .relaxed)
        generation.add(1, ordering: .releasing)
        lock.lock()
        lock.broadcast()
        lock.unlock()
        job.perform(phase: phase, worker: 0)
        // The caller waits by spinning (the workers' share is short); yielding after a while lets a
        // descheduled worker back onto a busy core.
        var spins = 0
        while remaining.load(ordering: .acquiring) > 0 {
            blasnet_spin_hint()
            spins += 1
            if spins > Self.spinsPerClockRead * 64 { sched_yield() }
        }
    }

    /// Sends the waiting workers to sleep now rather than after their spin: for work the caller does alone,
    /// which spinning workers would only compete with for the host (its cores, its shared caches). The next
    /// `run` wakes them, at the cost of one wake-up.
    public func rest() {
        resting.store(true, ordering: .relaxed)
    }

    private func work(_ index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var spinStart: UInt64 = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                blasnet_spin_hint()
                spins += 1
                if spins % Self.spinsPerClockRead == 0 {
                    let now = DispatchTime.now().uptimeNanoseconds
                    if spinStart == 0 {
                        spinStart = now
                    } else if now - spinStart > Self.spinNanoseconds || resting.load(ordering: .relaxed) {
                        lock.lock()
                        while generation.load(ordering: .acquiring) == seen { lock.wait() }
                        lock.unlock()
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
