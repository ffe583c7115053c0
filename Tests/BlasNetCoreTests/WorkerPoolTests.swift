// Tests of WorkerPool, the threads the parallel training step hands its tasks to: every worker index
// runs once per hand-off, a pool released before its threads have even started is torn down cleanly,
// and a pool does not keep the last job it ran alive (the training step owns its pool).
@testable import BlasNetCore
import Synchronization
import XCTest

final class WorkerPoolTests: XCTestCase {
    private final class CountingJob: WorkerJob, @unchecked Sendable {  // each worker writes its own slot
        let runs: UnsafeMutablePointer<Int>
        let count: Int
        init(workers: Int) {
            count = workers
            runs = .allocate(capacity: workers)
            runs.initialize(repeating: 0, count: workers)
        }
        deinit { runs.deallocate() }
        func perform(phase: Int, worker: Int) { runs[worker] += phase }
    }

    func testEveryWorkerRunsEachHandOffOnce() {
        let pool = WorkerPool(count: 3)
        let job = CountingJob(workers: 3)
        for phase in 1...100 { pool.run(job, phase: phase) }
        XCTAssertEqual((0..<3).map { job.runs[$0] }, [Int](repeating: 5050, count: 3))
    }

    /// Pools made and released at once: their threads may start after the pool is gone.
    func testAPoolReleasedBeforeItsThreadsStartTearsDownCleanly() {
        for _ in 0..<200 { _ = WorkerPool(count: 2) }
    }

    /// `rest` sends the waiting workers to sleep; `wake` gets them up spinning again, and a `run` after
    /// either still runs every worker.
    func testRestSendsWorkersToSleepAndWakeGetsThemUp() {
        let pool = WorkerPool(count: 3)
        let job = CountingJob(workers: 3)
        func waitFor(_ sleeping: Int) -> Bool {
            let deadline = Date().addingTimeInterval(5)
            while pool.sleepingWorkers != sleeping && Date() < deadline { usleep(100) }
            return pool.sleepingWorkers == sleeping
        }
        pool.run(job, phase: 1)
        pool.rest()
        XCTAssertTrue(waitFor(2), "both workers asleep after rest")
        pool.wake()
        XCTAssertTrue(waitFor(0), "both workers up after wake")
        pool.run(job, phase: 1)
        pool.rest()
        XCTAssertTrue(waitFor(2))
        pool.run(job, phase: 1)
        XCTAssertEqual((0..<3).map { job.runs[$0] }, [3, 3, 3])
    }

    func testThePoolDoesNotKeepItsLastJobAlive() {
        let pool = WorkerPool(count: 2)
        weak var released: CountingJob?
        do {
            let job = CountingJob(workers: 2)
            pool.run(job, phase: 1)
            released = job
        }
        XCTAssertNil(released, "a job that owns its pool would never be freed")
    }
}
