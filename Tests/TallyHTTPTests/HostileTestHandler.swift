import Synchronization
import TallyHTTP

/// Echoes like ``EchoHandler``, answers `/big` with 128 KiB and `/huge` with 32 MiB, and holds `/hold` until the test releases it;
/// counts every request it is given.
final class HostileTestHandler: HTTPHandler {
    static let bigBody = [UInt8](repeating: UInt8(ascii: "b"), count: 128 * 1024)
    /// `/huge`'s answer: far more than loopback's socket buffers take.
    static let hugeBody = [UInt8](repeating: UInt8(ascii: "h"), count: 32 << 20)
    let handled = Atomic<Int>(0)
    private let held = Mutex<[@Sendable () -> Void]>([])
    /// The statuses the server answered by itself, in order.
    let serverAnswers = Mutex<[Int]>([])

    func answeredByServer(status: Int, seconds: Double) {
        serverAnswers.withLock { $0.append(status) }
    }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        handled.add(1, ordering: .relaxed)
        switch request.path {
        case "/big":
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Self.bigBody))
        case "/huge":
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Self.hugeBody))
        case "/hold":
            let response = HTTPResponse(
                status: 200, headers: [("Content-Type", "text/plain")], body: Array("held".utf8))
            held.withLock { $0.append { respond(response) } }
        default:
            let text = "\(request.method.name) \(request.path) \(request.body.count)"
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array(text.utf8)))
        }
    }

    /// Requests waiting in `/hold`.
    var heldCount: Int { held.withLock { $0.count } }

    /// Answers the oldest held request; returns false when none is held.
    @discardableResult
    func releaseOne() -> Bool {
        let next = held.withLock { list in list.isEmpty ? nil : list.removeFirst() }
        next?()
        return next != nil
    }
}
