// ModeChooser: whether the parallel training step runs its tasks on the worker pool or on the calling
// thread alone ("solo"), decided from the step's own timings. It decides only the speed: both ways
// compute the same numbers.
//
// It compares each way's *mean* step time, because the mean is what sets the throughput. When the
// second core is busy — another process on it, or a virtual machine's host lending it to other guests
// for milliseconds at a time — a pool step waits for it, so a pool whose typical step takes half as long
// as a solo step can still be slower on average (a trace of that is in docs/performance.md,
// 2026-12-04). A median misses that.
//
// The way chosen runs in blocks of `block` steps, each block's mean its estimate. A trial runs the other
// way for `trialSteps` steps and keeps the faster: the way chosen unless the other is faster by
// `switchMargin`, so that noise does not make it flip. (A trial is shorter than a block: its steps cost
// time whenever it loses, and a way chosen wrongly shows in its next blocks.) The first trial comes
// first: `earliestDecision` steps alone give solo its first estimate, and the pool's first blocks
// decide. Later trials start `interval` steps after the last one, and at once when two blocks in a row
// of the way chosen are slower than the other way's last estimate (one can be a passing stall). A block
// ends early once it has lost more time than a trial's worth of the other way's steps — a stalling pool
// must not run on for a whole block — and a trial once it can no longer win, or after
// `earliestDecision` steps if even the fastest of them is slower than the chosen way's mean by
// `clearMargin`. While the way chosen wins clearly (the other slower by `clearMargin`) the interval
// doubles, up to `longestInterval`; after a switch it starts again from `interval`. The first step after
// each switch of way is not timed: it pays for waking the workers, or for pulling the other core's data
// over.
struct ModeChooser {
    /// Steps of the way chosen whose mean is its estimate.
    static let block = 64
    /// Steps of the other way in a trial.
    static let trialSteps = 16
    static let interval = 512
    static let longestInterval = 4096
    /// Steps of the first trial, and after which a trial of a clearly slower way ends.
    static let earliestDecision = 3
    /// The other way's mean must be below this share of the chosen way's to be chosen (percent).
    static let switchMargin: UInt64 = 95
    /// The other way slower than this share of the chosen way's mean (percent): the chosen way wins clearly.
    static let clearMargin: UInt64 = 125
    /// How long before a trial of the pool its workers should be woken, in ns: a sleeping worker's virtual
    /// core can take milliseconds to come back from the host (scripts/wake_latency.c).
    static let wakeLead: UInt64 = 10_000_000

    /// The way the steps run on between trials.
    private(set) var solo = false
    /// Whether the steps run the other way, to time it.
    private(set) var inTrial = true
    /// The latest mean step time in nanoseconds of the pool ([0]) and of solo steps ([1]); 0: none yet.
    private var estimates: [UInt64] = [0, 0]
    /// The steps timed in the current block (the way chosen) or trial (the other way).
    private var sum: UInt64 = 0
    private var count = 0
    private var fastest = UInt64.max
    /// Set by a switch of way: the next step is not timed.
    private var skipNext = true
    /// Blocks in a row of the way chosen slower than the other way's estimate.
    private var slowBlocks = 0
    /// Steps run the chosen way since the last trial ended.
    private var sinceTrial = 0
    /// Steps from one trial to the next.
    private(set) var currentInterval = ModeChooser.interval

    /// Whether the coming step runs solo.
    var nextStepSolo: Bool { inTrial ? !solo : solo }

    /// Whether pool steps follow within about `wakeLead` of the steps alone now running: always during a
    /// trial alone, and in the last steps alone before a trial of the pool.
    var poolSoon: Bool {
        guard solo else { return inTrial }
        guard !inTrial, estimates[1] > 0 else { return false }
        let lead = Int(min(Self.wakeLead / estimates[1], UInt64(Self.longestInterval)))
        return sinceTrial >= currentInterval - lead
    }

    /// Records the time of a step that ran as `nextStepSolo` said; a step run otherwise (tests force one
    /// way) is not counted. Afterwards `solo` is the way chosen.
    mutating func record(solo ranSolo: Bool, nanoseconds: UInt64) {
        guard ranSolo == nextStepSolo else { return }
        if !inTrial { sinceTrial += 1 }
        if skipNext {
            skipNext = false
            return
        }
        sum += nanoseconds
        count += 1
        fastest = min(fastest, nanoseconds)
        let chosen = solo ? 1 : 0, other = 1 - chosen
        if inTrial {
            let chosenMean = estimates[chosen]
            let ended = chosenMean == 0
                ? count == Self.earliestDecision  // the first trial: nothing to compare with yet
                : count == Self.trialSteps || sum > UInt64(Self.trialSteps) * chosenMean
                    || (count >= Self.earliestDecision && fastest * 100 > chosenMean * Self.clearMargin)
            if ended { endTrial() }
            return
        }
        let lost = sum > UInt64(count + Self.trialSteps) * estimates[other]
        if count == Self.block || lost {
            estimates[chosen] = sum / UInt64(count)
            resetTiming()
            // Slower than the other way's estimate: two blocks in a row start a trial (one can be a
            // passing stall).
            slowBlocks = estimates[chosen] * Self.switchMargin > estimates[other] * 100 ? slowBlocks + 1 : 0
            if slowBlocks >= 2 {
                beginTrial()
                return
            }
        }
        if sinceTrial >= currentInterval { beginTrial() }
    }

    private mutating func beginTrial() {
        inTrial = true
        skipNext = true
        resetTiming()
    }

    /// Takes the trial's mean as the other way's estimate and keeps the faster way.
    private mutating func endTrial() {
        let chosen = solo ? 1 : 0, other = 1 - chosen
        estimates[other] = sum / UInt64(count)
        if estimates[chosen] > 0 {
            let switchWays = estimates[other] * 100 < estimates[chosen] * Self.switchMargin
            // After a switch the next trial comes after the first interval: the blocks that led to it may
            // have met a passing stall. A way kept, clearly faster, waits twice as long as last time.
            if switchWays {
                solo.toggle()
                currentInterval = Self.interval
            } else {
                currentInterval = estimates[other] * 100 > estimates[chosen] * Self.clearMargin
                    ? min(2 * currentInterval, Self.longestInterval) : Self.interval
            }
        }
        slowBlocks = 0
        inTrial = false
        skipNext = true  // the trial's way gives way to the chosen one
        sinceTrial = 0
        resetTiming()
    }

    private mutating func resetTiming() {
        sum = 0
        count = 0
        fastest = .max
    }
}
