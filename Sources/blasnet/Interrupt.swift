import ArgumentParser
import Dispatch
import Foundation
import Synchronization

/// Ctrl-C during long work: the first SIGINT sets a flag that the training loop checks after every
/// step, so the run stops cleanly (nothing half-written); a second one exits at once.
enum Interrupt {
    private static let received = Atomic<Int>(0)
    nonisolated(unsafe) private static var source: DispatchSourceSignal?

    static var requested: Bool { received.load(ordering: .relaxed) > 0 }

    static func install() {
        handleSIGINT {
            if received.add(1, ordering: .relaxed).newValue > 1 { exitNow("interrupted again: exiting now") }
        }
    }

    /// For commands that write nothing until they finish (bench, check): Ctrl-C exits at once with
    /// `message` on stderr and status 130; their files are written atomically, so nothing half-made stays.
    static func exitOnInterrupt(_ message: String) {
        handleSIGINT { exitNow(message) }
    }

    /// Routes SIGINT to `handler` on a Dispatch queue (once per process).
    private static func handleSIGINT(_ handler: @escaping @Sendable () -> Void) {
        guard source == nil else { return }
        signal(SIGINT, SIG_IGN)
        let signalSource = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        signalSource.setEventHandler(handler: handler)
        signalSource.resume()
        source = signalSource
    }

    /// `message` on stderr, then exit 130 through _exit: the main thread is still working, and exit's
    /// teardown under it can crash.
    private static func exitNow(_ message: String) -> Never {
        printError(message)
        fflush(nil)
        _exit(130)
    }

    /// Exit status for a run stopped by Ctrl-C (128 + SIGINT).
    static let exitCode = ExitCode(130)
}
