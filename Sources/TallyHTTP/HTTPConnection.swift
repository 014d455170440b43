import CTallyShims
import Glibc
import TallyStorage

/// One client connection, owned by its event loop's thread.
///
/// Reads feed the request parser; each complete request goes to the handler with a sequence number, and
/// responses (which may arrive from any thread, in any order) are written strictly in request order.
///
/// Pipelined requests are also *handled* in order wherever order can matter (RFC 9112 §9.3.2): a request
/// goes to the handler at once only if nothing is being handled, or if it and everything being handled are
/// safe (`GET`, `HEAD`, ...). Otherwise it waits, and the connection reads no further, until the requests
/// before it are answered: a `GET` pipelined behind a `POST` of events sees those events.
///
/// Back-pressure: the connection stops reading (and stops watching for input) while
/// ``HTTPServerConfiguration/maxPipelinedRequests`` requests await their responses or while the socket will not
/// take more output, so a client that pipelines without reading is held up by TCP flow control instead of
/// growing the server's buffers.
final class HTTPConnection {
    let descriptor: Int32
    unowned let loop: EventLoop
    var parser: HTTPRequestParser
    var nextSequence = 0
    var nextToSend = 0
    var ready: [Int: (response: HTTPResponse, keepAlive: Bool, head: Bool, legacy: Bool)] = [:]
    var output: [UInt8] = []
    var outputOffset = 0
    var closeAfterWrite = false
    var stopReading = false
    var closed = false
    var waitingForWritable = false
    /// The epoll events registered for the descriptor (the loop registers input interest on accept).
    var registeredEvents = tally_epollin | tally_epollrdhup
    var lastActivity = MonotonicClock.nanoseconds()
    /// When the last read that brought bytes returned.
    var readAt = MonotonicClock.nanoseconds()
    /// When the first byte of the request now arriving was read (or the empty lines before it): its answer's
    /// duration counts from here, whether it is the handler's or the server's own (400, 408, 413). `nil`
    /// between requests.
    var requestStarted: UInt64?
    /// When the head of the request now arriving began (its first byte, or the empty lines before it).
    var headStarted: UInt64?
    /// When the head of the request whose body is now arriving was complete.
    var bodyStarted: UInt64?
    /// After an error response the write side is shut and input is read and dropped for a moment, so the
    /// client sees the response instead of a reset ("lingering close").
    var lingeringSince: UInt64?
    var failedStream = false
    /// Whether the request the client left part-way was logged (a half-close, then a reset, must not log it
    /// twice).
    var loggedAbandonedRequest = false
    /// Whether ``parseRequests()`` is running: responses given meanwhile are gathered and written once it ends.
    var parsing = false
    /// Responses in the output that are not yet wholly sent.
    var unsentResponses = 0
    /// The output's unsent bytes as last added to the server's count
    /// (``HTTPServerConfiguration/maxUnsentResponseBytes``).
    var countedOutput = 0
    /// Since when the socket has not taken all of the output (the client is not reading it fast enough).
    var stalledSince: UInt64?
    /// Whether the request whose body is arriving waits for `100 Continue`, which goes out once every earlier
    /// response has (an interim response must not overtake them).
    var owesContinue = false
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    /// Requests given to the handler and not answered yet, and how many of them are unsafe (a `POST`, say).
    var handling = 0
    var unsafeHandling = 0
    /// A parsed request that waits for the requests before it to be answered (see the type's notes).
    var heldRequest: HTTPRequest?
    /// Body bytes taken from the server's budget (``HTTPServerConfiguration/maxBufferedBodyBytes``) for the
    /// request now arriving, and for the held request. A started request's bytes go back when its handler
    /// answers; these when the connection closes or abandons the request.
    var arrivingReservation = 0
    var heldReservation = 0
    /// Whether the handler has looked at the head of the request whose body is arriving
    /// (``HTTPHandler/refusal(beforeBody:)``).
    var headChecked = false
    /// Full reads (of the loop's 64 KiB buffer) one connection may make per wake-up.
    static let readsPerWakeUp = 16
    /// The client's IPv4 address, for the log (looked up at once: once the connection is closed, its
    /// descriptor's number may name another).
    let clientAddress: String

    init(descriptor: Int32, loop: EventLoop) {
        self.descriptor = descriptor
        self.loop = loop
        self.clientAddress = Socket.peerAddress(descriptor)
        self.parser = HTTPRequestParser(limits: loop.server.configuration.limits, checksHost: true)
    }

    var inFlight: Int { nextSequence - nextToSend }

    /// Output bytes not sent yet.
    var unsentBytes: Int { output.count - outputOffset }

    /// Brings the server's count of unsent response bytes up to date with this connection's output.
    func countOutput() {
        let unsent = closed ? 0 : unsentBytes
        guard unsent != countedOutput else { return }
        loop.server.unsentResponseBytes.add(unsent - countedOutput, ordering: .relaxed)
        countedOutput = unsent
    }

    /// Whether new requests must wait: enough are awaiting responses, or the client is not reading its responses.
    var inputPaused: Bool {
        inFlight >= loop.server.configuration.maxPipelinedRequests || waitingForWritable || heldRequest != nil
    }

    /// Whether `request` may go to the handler now: nothing is being handled, or it and all that is are safe.
    func mayStart(_ request: HTTPRequest) -> Bool {
        handling == 0 || (unsafeHandling == 0 && request.method.isSafe)
    }

    /// Whether the connection reads from the socket now (to parse requests, or to drop input while lingering).
    var wantsInput: Bool {
        lingeringSince != nil || (!stopReading && !inputPaused)
    }

    func handle(events: UInt32) {
        if events & (tally_epollerr) != 0 {
            // A reset: a request arriving is abandoned with the connection.
            logAbandonedRequest()
            close()
            return
        }
        if events & tally_epollout != 0 { writePending() }
        if closed { return }
        if events & (tally_epollin | tally_epollhup | tally_epollrdhup) != 0 {
            if wantsInput {
                readAvailable()
            } else if events & tally_epollhup != 0 {
                // Both directions are gone (a reset, say): nothing more can be read or written.
                logAbandonedRequest()
                close()
                return
            }
        }
        refreshInterest()
    }

    /// Registers the events the connection waits for now: input only while it wants to read (level-triggered
    /// input it will not read would wake the loop forever), output only while a write is pending.
    func refreshInterest() {
        guard !closed else { return }
        let wanted = (wantsInput ? tally_epollin | tally_epollrdhup : 0) | (waitingForWritable ? tally_epollout : 0)
        guard wanted != registeredEvents else { return }
        registeredEvents = wanted
        // A connection whose wake-ups cannot be changed would hang or spin: it is closed instead.
        if !loop.watch(descriptor, events: wanted) { close() }
    }

    /// Gives a request to the handler, with the next sequence number; `reservation` body bytes go back to
    /// the server's budget when the handler answers.
    func start(_ request: HTTPRequest, reservation: Int) {
        let sequence = allocateSequence()
        let keepAlive = request.keepAlive && !loop.server.draining
        let head = request.method == .head
        let legacy = request.minorVersion == 0
        let started = request.arrivedAt ?? MonotonicClock.nanoseconds()
        let method = request.method.name
        let path = request.path
        let requestId = loop.server.requestIds.id(for: request.headers)
        let bound = LoopBound(self)
        let loop = self.loop
        if !keepAlive { stopReading = true }
        let unsafe = !request.method.isSafe
        handling += 1
        if unsafe { unsafeHandling += 1 }
        loop.server.handler.handle(request) { response in
            loop.server.releaseBodyBytes(reservation)
            // A response given on the loop's own thread (while the handler runs, say) needs no hand-off.
            if loop.isCurrentThread {
                bound.value.handlerFinished(unsafe: unsafe, closing: !keepAlive || response.closeConnection)
                bound.value.dispatchResponse(
                    sequence: sequence, response: response, keepAlive: keepAlive,
                    head: head, legacy: legacy, method: method, path: path, started: started,
                    requestId: requestId)
                return
            }
            loop.execute {
                bound.value.handlerFinished(unsafe: unsafe, closing: !keepAlive || response.closeConnection)
                bound.value.dispatchResponse(
                    sequence: sequence, response: response, keepAlive: keepAlive,
                    head: head, legacy: legacy, method: method, path: path, started: started,
                    requestId: requestId)
            }
        }
    }

    /// Notes that the handler answered a request, and starts a held request that may go now: before the
    /// answer is written, so that during a drain the answer does not close a connection on a request the
    /// server has read and not answered. Not when the answer closes the connection (`closing`): the held
    /// request is abandoned with it, unprocessed.
    func handlerFinished(unsafe: Bool, closing: Bool) {
        handling -= 1
        if unsafe { unsafeHandling -= 1 }
        if !closing { startHeldRequestIfDue() }
    }

    /// Starts the held request once the requests before it allow (see ``mayStart(_:)``). It was read whole,
    /// so it is answered even when the connection reads nothing more (a drain, the client's half-close);
    /// only a response that closes the connection abandons it (see ``emit(_:keepAlive:head:legacy:)``).
    func startHeldRequestIfDue() {
        guard !closed, let held = heldRequest, mayStart(held) else { return }
        heldRequest = nil
        let reservation = heldReservation
        heldReservation = 0
        start(held, reservation: reservation)
    }

    /// Writes the owed `100 Continue` once no earlier response is outstanding.
    func inviteBodyIfDue() {
        guard owesContinue, nextToSend == nextSequence, !stopReading, !closeAfterWrite else { return }
        owesContinue = false
        output.append(contentsOf: HTTPConnection.continueResponse)
        // The body's deadline runs from the invitation: a client that waits for it is not late.
        bodyStarted = MonotonicClock.nanoseconds()
    }

    /// Whether a request is under way: part of one received, one not yet answered, or an answer not yet
    /// written out whole.
    var isMidRequest: Bool { parser.holdsPartialRequest || inFlight > 0 || outputOffset < output.count }

    /// Stops taking new requests (server shutdown): closes now if idle, else after the in-flight ones. A
    /// request whose body is arriving is in flight too: it is read to its end (within the drain deadline)
    /// and answered, with `Connection: close`; so is a pipelined request held behind an unsafe one.
    func beginDrain() {
        if parser.isReceivingBody && !stopReading {
            refreshInterest()
            return
        }
        stopReading = true
        closeAfterWrite = true
        if inFlight == 0 && outputOffset == output.count { close() }
        refreshInterest()
    }

    func checkTimeouts(now: UInt64) {
        if let since = lingeringSince {
            if now - since > loop.server.configuration.lingerTimeout.nanoseconds { close() }
            return
        }
        let configuration = loop.server.configuration
        if let started = headStarted, now - started > configuration.headerTimeout.nanoseconds {
            timeOut(now: now, message: "the request headers did not arrive in time")
            return
        }
        if let started = bodyStarted, !owesContinue, now - started > configuration.bodyTimeout.nanoseconds {
            timeOut(now: now, message: "the request body did not arrive in time")
            return
        }
        if inFlight == 0, headStarted == nil, bodyStarted == nil,
            now - lastActivity > configuration.idleTimeout.nanoseconds
        {
            close()
        }
    }

    /// Answers 408 to a request that is arriving too slowly and closes (lingering) after it.
    func timeOut(now: UInt64, message: String) {
        stopReading = true
        failedStream = true
        headStarted = nil
        bodyStarted = nil
        // Logged under its method and path once its request line was read, whether its fields or its body
        // were too slow.
        let head = parser.headAwaitingBody
        let named = head.map { (method: $0.method, path: $0.path) } ?? parser.requestLineOfHeadArriving
        let began = requestStarted ?? now
        loop.server.handler.answeredByServer(status: 408, seconds: MonotonicClock.seconds(since: began))
        dispatchResponse(
            sequence: allocateSequence(),
            response: HTTPErrorBody.response(status: 408, message: message, closeConnection: true),
            keepAlive: false, head: named?.method == .head, method: named?.method.name ?? "-",
            path: named?.path ?? "-",
            started: began, requestId: loop.server.requestIds.id(for: head?.headers))
    }

    func close() {
        guard !closed else { return }
        closed = true
        countOutput()
        loop.server.releaseBodyBytes(arrivingReservation + heldReservation)
        arrivingReservation = 0
        heldReservation = 0
        _ = Glibc.close(descriptor)
        loop.forget(descriptor)
    }
}
