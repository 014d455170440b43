import Dispatch
import Glibc
import Synchronization
import TallyHTTP

/// Notes when the handling of each request starts and ends; paths starting `/slow` are answered from
/// another thread 50 ms later, the rest from another thread at once. A path in `holds` is answered only
/// once the event it maps to has been noted (or after 10 s, a hang guard), so a test of overlap needs no
/// lucky timing.
final class RecordingHandler: HTTPHandler {
    let events = Mutex<[String]>([])
    let holds: [String: String]

    init(holds: [String: String] = [:]) {
        self.holds = holds
    }

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let name = "\(request.method.name) \(request.path)"
        events.withLock { $0.append("start \(name)") }
        let delay = request.path.hasPrefix("/slow") ? 50 : 0
        let hold = holds[request.path]
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(delay)) { [self] in
            if let hold {
                for _ in 0..<10_000 where position(hold) == .max { usleep(1_000) }
            }
            self.events.withLock { $0.append("end \(name)") }
            respond(HTTPResponse(status: 200, body: Array(name.utf8)))
        }
    }

    /// Where `event` was noted (`Int.max` when it never was).
    func position(_ event: String) -> Int { events.withLock { $0.firstIndex(of: event) ?? .max } }
}
