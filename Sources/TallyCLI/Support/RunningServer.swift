import Synchronization
import TallyHTTP

/// Reports the server's gauges once it exists (the handler is built before the server).
final class RunningServer: Sendable {
    private let current = Mutex<HTTPServer?>(nil)

    var server: HTTPServer? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    var gauges: HTTPServerGauges { server?.gauges ?? HTTPServerGauges() }
}
