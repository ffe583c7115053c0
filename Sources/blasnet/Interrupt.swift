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
        guard source == nil else { return }
        signal(SIGINT, SIG_IGN)
        let signalSource = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        signalSource.setEventHandler {
            if received.add(1, ordering: .relaxed).newValue > 1 {
                printError("interrupted again: exiting now")
                fflush(nil)
                _exit(130)  // not exit: its teardown would race the training thread
            }
        }
        signalSource.resume()
        source = signalSource
    }

    /// For commands that write nothing until they finish (bench, check): Ctrl-C exits at once with
    /// `message` on stderr and status 130; their files are written atomically, so nothing half-made stays.
    static func exitOnInterrupt(_ message: String) {
        guard source == nil else { return }
        signal(SIGINT, SIG_IGN)
        let signalSource = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        signalSource.setEventHandler {
            printError(message)
            // _exit, not exit: the main thread is still working, and exit's teardown under it can crash.
            _exit(130)
        }
        signalSource.resume()
        source = signalSource
    }

    /// Exit status for a run stopped by Ctrl-C (128 + SIGINT).
    static let exitCode = ExitCode(130)
}
