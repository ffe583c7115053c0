// Tests of ModeChooser, which picks pool or solo steps for the parallel step from their timings: fed
// made-up step times, it must time a few steps alone first, then keep the way with the lower mean step
// time (not the lower median), space its trials while one way wins clearly, try the other way at once
// when the way chosen slows, and cut short a block or trial that has lost.
@testable import BlasNetCore
import XCTest

final class ModeChooserTests: XCTestCase {
    /// Runs `steps` steps, the n-th pool or solo step taking `pool(n)` or `solo(n)` ns; returns the ways.
    @discardableResult
    private func run(_ chooser: inout ModeChooser, steps: Int, pool: (Int) -> UInt64, solo: (Int) -> UInt64) -> [Bool] {
        var ways: [Bool] = [], poolSteps = 0, soloSteps = 0
        for _ in 0..<steps {
            let way = chooser.nextStepSolo
            ways.append(way)
            let time = way ? solo(soloSteps) : pool(poolSteps)
            if way { soloSteps += 1 } else { poolSteps += 1 }
            chooser.record(solo: way, nanoseconds: time)
        }
        return ways
    }

    private func pool(_ count: Int) -> [Bool] { [Bool](repeating: false, count: count) }
    private func solo(_ count: Int) -> [Bool] { [Bool](repeating: true, count: count) }
    /// The start: an untimed step and `earliestDecision` steps alone, then an untimed step and a block on
    /// the pool.
    private let start = 1 + ModeChooser.earliestDecision + 1 + ModeChooser.block

    /// A few steps alone, then the pool; when the pool's block is faster, no further trial comes before
    /// the interval.
    func testTimesAFewStepsAloneFirstThenThePool() {
        var chooser = ModeChooser()
        let ways = run(&chooser, steps: start + 100, pool: { _ in 100 }, solo: { _ in 130 })
        XCTAssertEqual(ways, solo(1 + ModeChooser.earliestDecision) + pool(1 + ModeChooser.block + 100))
        XCTAssertFalse(chooser.solo)
        XCTAssertFalse(chooser.inTrial)
    }

    /// When the pool's first two blocks are slower than the first steps alone by more than the margin, a
    /// trial alone follows; alone is chosen only when its mean beats the pool's by the switch margin.
    func testSwitchesOnlyWhenTheOtherWayIsFasterByTheMargin() {
        for (soloTrial, switches) in [(UInt64(90), true), (97, false)] {
            var chooser = ModeChooser()
            // Alone at 80 ns first: the pool's blocks at 100 ns are slower, and after two a trial alone begins.
            run(&chooser, steps: start, pool: { _ in 100 }, solo: { $0 < 1 + ModeChooser.earliestDecision ? 80 : soloTrial })
            XCTAssertFalse(chooser.inTrial, "one slow block")
            run(&chooser, steps: ModeChooser.block, pool: { _ in 100 }, solo: { _ in soloTrial })
            XCTAssertTrue(chooser.inTrial, "two slow blocks")
            let ways = run(&chooser, steps: 1 + ModeChooser.trialSteps + 5, pool: { _ in 100 }, solo: { _ in soloTrial })
            XCTAssertEqual(ways, solo(1 + ModeChooser.trialSteps) + (switches ? solo(5) : pool(5)), "trial at \(soloTrial)")
            XCTAssertEqual(chooser.solo, switches, "trial at \(soloTrial)")
            XCTAssertEqual(chooser.currentInterval, ModeChooser.interval, "trial at \(soloTrial): no clear winner")
        }
    }

    /// One block slowed by a passing stall does not start a trial; two in a row do. After a switch the
    /// next trial comes after the first interval, however clear the win.
    func testOneStalledBlockStartsNoTrial() {
        var chooser = ModeChooser()
        run(&chooser, steps: start, pool: { _ in 75 }, solo: { _ in 120 })
        // One block with a 5 µs stall in it: a mean of about 150 ns, above the 120 ns alone.
        let stalled = run(&chooser, steps: 2 * ModeChooser.block, pool: { $0 == 10 ? 5_000 : 75 }, solo: { _ in 120 })
        XCTAssertEqual(stalled, pool(2 * ModeChooser.block), "no trial for one stalled block")
        XCTAssertFalse(chooser.solo)
        // Then every block stalls: the second starts a trial alone, which wins, clearly.
        run(&chooser, steps: 4 * ModeChooser.block, pool: { $0 % 32 == 10 ? 10_000 : 75 }, solo: { _ in 120 })
        XCTAssertTrue(chooser.solo)
        XCTAssertEqual(chooser.currentInterval, ModeChooser.interval, "after a switch: the first interval")
    }

    /// Pool steps of 75 ns but every fourth one stalled at 600 ns (a median of 75, a mean of about 206)
    /// lose to solo steps of 150 ns: the chooser goes by the mean.
    func testGoesByTheMeanNotTheMedian() {
        var chooser = ModeChooser()
        run(&chooser, steps: start + ModeChooser.block + 1 + ModeChooser.trialSteps + 10, pool: { $0 % 4 == 3 ? 600 : 75 },
            solo: { _ in 150 })
        XCTAssertTrue(chooser.solo, "a stalling pool is slower on average")
        var steady = ModeChooser()
        run(&steady, steps: start + 1 + ModeChooser.trialSteps + 10, pool: { _ in 75 }, solo: { _ in 150 })
        XCTAssertFalse(steady.solo)
    }

    /// While the pool wins clearly, a trial ends after `earliestDecision` steps and each comes twice as
    /// late as the last, up to the longest interval; a close trial brings back the first interval.
    func testSpacesTrialsWhileOneWayWinsClearly() {
        var chooser = ModeChooser()
        run(&chooser, steps: start, pool: { _ in 100 }, solo: { _ in 200 })
        var intervals: [Int] = [], soloSteps: [Int] = []
        for _ in 0..<5 {
            let ways = run(&chooser, steps: chooser.currentInterval, pool: { _ in 100 }, solo: { _ in 200 })
            soloSteps.append(ways.filter { $0 }.count)
            intervals.append(chooser.currentInterval)
        }
        XCTAssertEqual(soloSteps, [Int](repeating: 1 + ModeChooser.earliestDecision, count: 5))
        XCTAssertEqual(intervals, [1024, 2048, 4096, 4096, 4096], "twice as late after each trial, up to the longest")
        run(&chooser, steps: chooser.currentInterval, pool: { _ in 100 }, solo: { _ in 110 })
        XCTAssertEqual(chooser.currentInterval, ModeChooser.interval, "the pool faster, not clearly")
        XCTAssertFalse(chooser.solo)
    }

    /// Between trials, a block of the way chosen slower than the other way's last estimate starts a trial
    /// at once; a slower block still faster than the other way does not.
    func testTriesTheOtherWayAtOnceWhenTheChosenWaySlows() {
        var chooser = ModeChooser()
        run(&chooser, steps: start, pool: { _ in 100 }, solo: { _ in 200 })
        let slower = run(&chooser, steps: 3 * ModeChooser.block, pool: { _ in 180 }, solo: { _ in 200 })
        XCTAssertEqual(slower, pool(3 * ModeChooser.block), "slower, still faster than alone: no trial")
        let slowed = run(&chooser, steps: 2 * ModeChooser.block + 1 + ModeChooser.trialSteps + 1, pool: { _ in 250 },
                         solo: { _ in 200 })
        // Two blocks at 250 ns (not lost early: 64 · 250 < 80 · 200), then a trial alone, which wins.
        XCTAssertEqual(slowed, pool(2 * ModeChooser.block) + solo(1 + ModeChooser.trialSteps + 1))
        XCTAssertTrue(chooser.solo, "alone, after the pool slowed")
    }

    /// A block that has lost more than a trial's worth of the other way's steps, or a trial that can no
    /// longer win, ends at once: a pool whose every fourth step stalls for 10 µs runs three and four steps
    /// of its first two blocks, and a later trial of it ends at its first stall.
    func testEndsABlockOrTrialThatHasLost() {
        var chooser = ModeChooser()
        let stalling: (Int) -> UInt64 = { $0 % 4 == 3 ? 10_000 : 75 }
        let first = run(&chooser, steps: 1 + ModeChooser.earliestDecision + 1 + 3 + 4 + 1 + ModeChooser.trialSteps + 1,
                        pool: stalling, solo: { _ in 150 })
        // Timed pool steps 75, 75, 10,000 (10,150 > (3 + 16) · 150), then 75, 75, 75, 10,000.
        XCTAssertEqual(first, solo(1 + ModeChooser.earliestDecision) + pool(1 + 3 + 4) + solo(1 + ModeChooser.trialSteps + 1))
        XCTAssertTrue(chooser.solo)
        XCTAssertEqual(chooser.currentInterval, ModeChooser.interval, "after a switch: the first interval")
        // The next trial of the pool ends at its first stall (10,150 > 16 · 150); alone wins clearly.
        let later = run(&chooser, steps: chooser.currentInterval + 10, pool: stalling, solo: { _ in 150 })
        XCTAssertEqual(later.filter { !$0 }.count, 1 + 3, "an untimed step, two fast ones and a stall")
        XCTAssertTrue(chooser.solo)
        XCTAssertEqual(chooser.currentInterval, 2 * ModeChooser.interval)
    }

    /// Pool steps follow soon during a trial alone, and in the last steps alone before a trial of the pool:
    /// about `wakeLead` ns of them (here 10 ms / 100 µs = 100 steps).
    func testSaysWhenPoolStepsFollowSoon() {
        var chooser = ModeChooser()
        XCTAssertTrue(chooser.poolSoon, "the first steps alone")
        var sawTrialAlone = false
        while !chooser.solo {  // the pool at 1 ms loses to steps alone at 100 µs
            if chooser.inTrial && chooser.nextStepSolo { sawTrialAlone = sawTrialAlone || chooser.poolSoon }
            run(&chooser, steps: 1, pool: { _ in 1_000_000 }, solo: { _ in 100_000 })
        }
        XCTAssertTrue(sawTrialAlone, "a trial alone")
        let lead = Int(ModeChooser.wakeLead / 100_000)
        var soon: [Bool] = []
        while !chooser.inTrial {
            soon.append(chooser.poolSoon)
            run(&chooser, steps: 1, pool: { _ in 1_000_000 }, solo: { _ in 100_000 })
        }
        XCTAssertGreaterThan(soon.count, lead)
        XCTAssertEqual(soon, [Bool](repeating: false, count: soon.count - lead) + [Bool](repeating: true, count: lead))
        XCTAssertFalse(chooser.nextStepSolo, "the trial of the pool")
    }

    /// A step run the other way than the chooser said (the tests force one way) is not counted: the
    /// chooser neither decides nor leaves its first trial on it.
    func testIgnoresStepsForcedTheOtherWay() {
        var chooser = ModeChooser()
        for _ in 0..<(4 * ModeChooser.block) { chooser.record(solo: false, nanoseconds: 1) }
        XCTAssertFalse(chooser.solo)
        XCTAssertTrue(chooser.inTrial)
        XCTAssertTrue(chooser.nextStepSolo, "still the first steps alone")
    }
}
