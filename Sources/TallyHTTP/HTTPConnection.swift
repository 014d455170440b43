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
    private var parser: HTTPRequestParser
    private var nextSequence = 0
    private var nextToSend = 0
    private var ready: [Int: (response: HTTPResponse, keepAlive: Bool, head: Bool, legacy: Bool)] = [:]
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeAfterWrite = false
    private var stopReading = false
    private var closed = false
    private var waitingForWritable = false
    /// The epoll events registered for the descriptor (the loop registers input interest on accept).
    private var registeredEvents = tally_epollin | tally_epollrdhup
    private var lastActivity = MonotonicClock.nanoseconds()
    /// When the head of the request now arriving began (its first byte, or the empty lines before it).
    private var headStarted: UInt64?
    /// When the head of the request whose body is now arriving was complete.
    private var bodyStarted: UInt64?
    /// After an error response the write side is shut and input is read and dropped for a moment, so the
    /// client sees the response instead of a reset ("lingering close").
    private var lingeringSince: UInt64?
    private var failedStream = false
    /// Whether ``parseRequests()`` is running: responses given meanwhile are gathered and written once it ends.
    private var parsing = false
    /// Responses in the output that are not yet wholly sent.
    private var unsentResponses = 0
    /// The output's unsent bytes as last added to the server's count
    /// (``HTTPServerConfiguration/maxUnsentResponseBytes``).
    private var countedOutput = 0
    /// Since when the socket has not taken all of the output (the client is not reading it fast enough).
    private(set) var stalledSince: UInt64?
    /// Whether the request whose body is arriving waits for `100 Continue`, which goes out once every earlier
    /// response has (an interim response must not overtake them).
    private var owesContinue = false
    private static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
    /// Requests given to the handler and not answered yet, and how many of them are unsafe (a `POST`, say).
    private var handling = 0
    private var unsafeHandling = 0
    /// A parsed request that waits for the requests before it to be answered (see the type's notes).
    private var heldRequest: HTTPRequest?
    /// Body bytes taken from the server's budget (``HTTPServerConfiguration/maxBufferedBodyBytes``) for the
    /// request now arriving, and for the held request. A started request's bytes go back when its handler
    /// answers; these when the connection closes or abandons the request.
    private var arrivingReservation = 0
    private var heldReservation = 0
    /// Whether the handler has looked at the head of the request whose body is arriving
    /// (``HTTPHandler/refusal(beforeBody:)``).
    private var headChecked = false
    /// Full reads (of the loop's 64 KiB buffer) one connection may make per wake-up.
    static let readsPerWakeUp = 16

    init(descriptor: Int32, loop: EventLoop) {
        self.descriptor = descriptor
        self.loop = loop
        self.parser = HTTPRequestParser(limits: loop.server.configuration.limits)
    }

    private var inFlight: Int { nextSequence - nextToSend }

    /// Output bytes not sent yet.
    var unsentBytes: Int { output.count - outputOffset }

    /// Brings the server's count of unsent response bytes up to date with this connection's output.
    private func countOutput() {
        let unsent = closed ? 0 : unsentBytes
        guard unsent != countedOutput else { return }
        loop.server.unsentResponseBytes.add(unsent - countedOutput, ordering: .relaxed)
        countedOutput = unsent
    }

    /// Whether new requests must wait: enough are awaiting responses, or the client is not reading its responses.
    private var inputPaused: Bool {
        inFlight >= loop.server.configuration.maxPipelinedRequests || waitingForWritable || heldRequest != nil
    }

    /// Whether `request` may go to the handler now: nothing is being handled, or it and all that is are safe.
    private func mayStart(_ request: HTTPRequest) -> Bool {
        handling == 0 || (unsafeHandling == 0 && request.method.isSafe)
    }

    /// Whether the connection reads from the socket now (to parse requests, or to drop input while lingering).
    private var wantsInput: Bool {
        lingeringSince != nil || (!stopReading && !inputPaused)
    }

    func handle(events: UInt32) {
        if events & (tally_epollerr) != 0 {
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
                close()
                return
            }
        }
        refreshInterest()
    }

    /// Registers the events the connection waits for now: input only while it wants to read (level-triggered
    /// input it will not read would wake the loop forever), output only while a write is pending.
    private func refreshInterest() {
        guard !closed else { return }
        let wanted = (wantsInput ? tally_epollin | tally_epollrdhup : 0) | (waitingForWritable ? tally_epollout : 0)
        guard wanted != registeredEvents else { return }
        registeredEvents = wanted
        // A connection whose wake-ups cannot be changed would hang or spin: it is closed instead.
        if !loop.watch(descriptor, events: wanted) { close() }
    }

    private func readAvailable() {
        guard !closed else { return }
        let buffer = loop.readBuffer
        if lingeringSince != nil {
            // Dropped input gets the same share of the loop as read input: a client streaming on after its
            // error answer cannot hold the loop (its linger deadline is checked between wake-ups).
            var reads = 0
            while reads < HTTPConnection.readsPerWakeUp {
                switch Syscall.uninterrupted({ Glibc.read(descriptor, buffer.baseAddress, buffer.count) }) {
                case .success(let count) where count > 0: reads += 1
                case .failure(let failure) where failure.wouldBlock: return
                default:
                    close()
                    return
                }
            }
            return
        }
        var reads = 0
        while !closed && !stopReading && !inputPaused {
            let count: Int
            switch Syscall.uninterrupted({ Glibc.read(descriptor, buffer.baseAddress, buffer.count) }) {
            case .success(let read): count = read
            case .failure(let failure):
                if !failure.wouldBlock { close() }
                return
            }
            if count > 0 {
                lastActivity = MonotonicClock.nanoseconds()
                parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                parseRequests()
                if count < buffer.count { return }
                // A client that keeps the socket full gets a fair share, not the loop: its input is still
                // there at the next wake-up (input is level-triggered), after the other connections' turn.
                reads += 1
                if reads == HTTPConnection.readsPerWakeUp { return }
                continue
            }
            // The client finished sending: answer what it asked, then close.
            stopReading = true
            closeAfterWrite = true
            if inFlight == 0 && output.count == outputOffset { close() }
            return
        }
    }

    /// Parses and dispatches every complete request that may go now, then writes the responses that the
    /// handler gave while it ran (on this thread, such as stats reads) in one `send`.
    private func parseRequests() {
        guard !parsing else { return }
        parsing = true
        parseAvailableRequests()
        parsing = false
        if outputOffset < output.count { writePending() }
    }

    private func parseAvailableRequests() {
        if heldRequest != nil {
            startHeldRequestIfDue()
            if heldRequest != nil { return }
        }
        while !closed && !stopReading && !inputPaused {
            // Gathered responses count against the pipelining limit too: write them before taking more, so a
            // client that does not read its responses soon fills the socket and is paused.
            if unsentResponses >= loop.server.configuration.maxPipelinedRequests {
                writePending()
                continue
            }
            let request: HTTPRequest?
            // A whole request refused for its `Host`: its answer is logged under its method and path, and a
            // HEAD gets the head alone (RFC 9110 §9.3.2), as when the refusal comes before its body.
            var refused: HTTPRequest?
            do throws(HTTPParseError) {
                request = try parser.next()
                if let request, let problem = HostHeader.problem(in: request) {
                    refused = request
                    throw HTTPParseError.badRequest(problem)
                }
            } catch {
                // A malformed stream cannot be resynchronised: answer the error and close. The request's
                // timers stop with it: its answer is this one, never a 408 on top of it.
                stopReading = true
                failedStream = true
                headStarted = nil
                bodyStarted = nil
                let body = HTTPErrorBody.json(status: error.status, message: error.message)
                loop.server.handler.answeredByServer(status: error.status)
                dispatchResponse(
                    sequence: allocateSequence(),
                    response: HTTPResponse(
                        status: error.status,
                        headers: [("Content-Type", "application/json")], body: body, closeConnection: true),
                    keepAlive: false, head: refused?.method == .head, method: refused?.method.name ?? "-",
                    path: refused?.path ?? "-", started: MonotonicClock.nanoseconds())
                return
            }
            guard let request else {
                if parser.isReceivingBody {
                    // The handler may refuse it on its head alone: before the body is read or invited.
                    if !headChecked, let head = parser.headAwaitingBody {
                        headChecked = true
                        if let refusal = headRefusal(head) {
                            refuseBody(refusal, for: head)
                            return
                        }
                    }
                    // Checked before more of the body is read, and before it is invited.
                    guard
                        reserveArrivingBody(received: parser.receivedBodyBytes, announced: parser.announcedBodyBytes)
                    else { return }
                    bodyStarted = bodyStarted ?? MonotonicClock.nanoseconds()
                    headStarted = nil
                } else {
                    headStarted = parser.isMidRequest ? (headStarted ?? MonotonicClock.nanoseconds()) : nil
                    bodyStarted = nil
                }
                if parser.takeContinueRequest() {
                    owesContinue = true
                    inviteBodyIfDue()
                }
                return
            }
            // A body read whole in one go is reserved here, as it completes. When the budget has no room for
            // it, a refusal on its head comes first, as it would have had the body come in pieces: a client
            // that cannot succeed is not told to retry.
            if !headChecked, request.body.count > arrivingReservation,
                !loop.server.hasRoomForBody(request.body.count - arrivingReservation, holding: arrivingReservation),
                let refusal = headRefusal(request)
            {
                refuseBody(refusal, for: request)
                return
            }
            headChecked = false
            guard reserveArrivingBody(received: request.body.count, announced: request.body.count) else { return }
            let reservation = arrivingReservation
            arrivingReservation = 0
            headStarted = nil
            bodyStarted = nil
            // A body that arrived uninvited needs no invitation; one sent after this request's response would
            // read as the next request's.
            owesContinue = false
            guard mayStart(request) else {
                heldRequest = request
                heldReservation = reservation
                return
            }
            start(request, reservation: reservation)
        }
    }

    /// Charges the server's body budget with the arriving body's `received` bytes, once the rest of what it
    /// `announced` would still fit; when it would not, answers 503 and closes after it (the rest of the body
    /// is never read). Announced bytes are only checked, never held: a client that announces a large body
    /// and sends nothing takes no room from others.
    private func reserveArrivingBody(received: Int, announced: Int) -> Bool {
        let fits =
            announced <= arrivingReservation
            || loop.server.hasRoomForBody(announced - arrivingReservation, holding: arrivingReservation)
        if fits && received > arrivingReservation {
            if loop.server.reserveBodyBytes(received - arrivingReservation, holding: arrivingReservation) {
                arrivingReservation = received
                return true
            }
        } else if fits {
            return true
        }
        let limit = loop.server.configuration.maxBufferedBodyBytes
        loop.server.handler.answeredByServer(status: 503)
        refuseBody(
            HTTPResponse(
                status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
                body: HTTPErrorBody.json(
                    status: 503,
                    message: "the server holds as many request bodies as it may (\(limit) bytes); retry in a moment")),
            for: nil)
        return false
    }

    /// The answer to a head that no body could change: the server's own 400 for a bad `Host` (checked
    /// first, as for any request), else the handler's refusal; `nil` to read the body.
    private func headRefusal(_ head: HTTPRequest) -> HTTPResponse? {
        if let problem = HostHeader.problem(in: head) {
            loop.server.handler.answeredByServer(status: 400)
            return HTTPResponse(
                status: 400, headers: [("Content-Type", "application/json")],
                body: HTTPErrorBody.json(status: 400, message: problem))
        }
        return loop.server.handler.refusal(beforeBody: head)
    }

    /// Answers the request whose body is arriving (`head`, when its head is known) with `response` instead,
    /// reads no more of it, and closes after the answer (lingering, so the client sees it rather than a
    /// reset). A `HEAD` request gets the answer's head alone.
    private func refuseBody(_ response: HTTPResponse, for head: HTTPRequest?) {
        loop.server.releaseBodyBytes(arrivingReservation)
        arrivingReservation = 0
        headChecked = false
        stopReading = true
        failedStream = true
        owesContinue = false
        headStarted = nil
        bodyStarted = nil
        var response = response
        response.closeConnection = true
        dispatchResponse(
            sequence: allocateSequence(), response: response, keepAlive: false, head: head?.method == .head,
            method: head?.method.name ?? "-", path: head?.path ?? "-", started: MonotonicClock.nanoseconds())
    }

    /// Gives a request to the handler, with the next sequence number; `reservation` body bytes go back to
    /// the server's budget when the handler answers.
    private func start(_ request: HTTPRequest, reservation: Int) {
        let sequence = allocateSequence()
        let keepAlive = request.keepAlive && !loop.server.draining
        let head = request.method == .head
        let legacy = request.minorVersion == 0
        let started = MonotonicClock.nanoseconds()
        let method = request.method.name
        let path = request.path
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
                    head: head, legacy: legacy, method: method, path: path, started: started)
                return
            }
            loop.execute {
                bound.value.handlerFinished(unsafe: unsafe, closing: !keepAlive || response.closeConnection)
                bound.value.dispatchResponse(
                    sequence: sequence, response: response, keepAlive: keepAlive,
                    head: head, legacy: legacy, method: method, path: path, started: started)
            }
        }
    }

    /// Notes that the handler answered a request, and starts a held request that may go now: before the
    /// answer is written, so that during a drain the answer does not close a connection on a request the
    /// server has read and not answered. Not when the answer closes the connection (`closing`): the held
    /// request is abandoned with it, unprocessed.
    private func handlerFinished(unsafe: Bool, closing: Bool) {
        handling -= 1
        if unsafe { unsafeHandling -= 1 }
        if !closing { startHeldRequestIfDue() }
    }

    /// Starts the held request once the requests before it allow (see ``mayStart(_:)``). It was read whole,
    /// so it is answered even when the connection reads nothing more (a drain, the client's half-close);
    /// only a response that closes the connection abandons it (see ``emit(_:keepAlive:head:legacy:)``).
    private func startHeldRequestIfDue() {
        guard !closed, let held = heldRequest, mayStart(held) else { return }
        heldRequest = nil
        let reservation = heldReservation
        heldReservation = 0
        start(held, reservation: reservation)
    }

    /// Writes the owed `100 Continue` once no earlier response is outstanding.
    private func inviteBodyIfDue() {
        guard owesContinue, nextToSend == nextSequence, !stopReading, !closeAfterWrite else { return }
        owesContinue = false
        output.append(contentsOf: HTTPConnection.continueResponse)
        // The body's deadline runs from the invitation: a client that waits for it is not late.
        bodyStarted = MonotonicClock.nanoseconds()
    }

    private func allocateSequence() -> Int {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Records a finished response and writes every response that is now next in order.
    private func dispatchResponse(
        sequence: Int, response: HTTPResponse, keepAlive: Bool, head: Bool, legacy: Bool = false,
        method: String, path: String, started: UInt64
    ) {
        guard !closed else { return }
        let elapsed = Double(MonotonicClock.nanoseconds() - started) / 1e6
        loop.logRequest(method: method, path: path, status: response.status, milliseconds: elapsed)
        let keepsAlive = keepAlive && !response.closeConnection
        if sequence == nextToSend {
            // The usual case: the response is next in order, so it skips the reordering table.
            if emit(response, keepAlive: keepsAlive, head: head, legacy: legacy) {
                while let next = ready.removeValue(forKey: nextToSend) {
                    guard emit(next.response, keepAlive: next.keepAlive, head: next.head, legacy: next.legacy) else {
                        break
                    }
                }
            }
        } else {
            ready[sequence] = (response, keepsAlive, head, legacy)
        }
        inviteBodyIfDue()
        // While the parse loop runs, it writes everything it has gathered once it stops.
        if parsing { return }
        writePending()
        if !closed && !stopReading { parseRequests() }
        refreshInterest()
    }

    /// Appends the next response in order to the output; returns false when it closes the connection.
    /// Once the server drains and reads nothing more from this connection, the last response in flight says
    /// `Connection: close` (the ones before it still go out), so a client that reuses connections does not
    /// send its next request into a closing socket.
    private func emit(_ response: HTTPResponse, keepAlive: Bool, head: Bool, legacy: Bool) -> Bool {
        let lastBeforeDrain = loop.server.draining && stopReading && nextToSend + 1 == nextSequence
        let keepAlive = keepAlive && !lastBeforeDrain
        response.serialize(
            into: &output, keepAlive: keepAlive, confirmKeepAlive: legacy, headOnly: head, date: loop.httpDate)
        nextToSend += 1
        unsentResponses += 1
        guard keepAlive else {
            closeAfterWrite = true
            stopReading = true
            // Later requests are abandoned with the connection: none is in flight any more.
            ready.removeAll()
            heldRequest = nil
            loop.server.releaseBodyBytes(heldReservation)
            heldReservation = 0
            nextToSend = nextSequence
            return false
        }
        return true
    }

    private func writePending() {
        // A closed descriptor's number may already be another connection's.
        guard !closed else { return }
        while outputOffset < output.count {
            // `send` with MSG_NOSIGNAL: a peer that vanished is an error here, never a SIGPIPE that ends the process.
            let sent = output.withUnsafeBytes { bytes in
                Syscall.uninterrupted {
                    Glibc.send(
                        descriptor, bytes.baseAddress.map { $0 + outputOffset }, output.count - outputOffset,
                        Int32(MSG_NOSIGNAL))
                }
            }
            if case .success(let count) = sent, count > 0 {
                outputOffset += count
                lastActivity = MonotonicClock.nanoseconds()
                continue
            }
            if case .failure(let failure) = sent, failure.wouldBlock {
                waitingForWritable = true
                stalledSince = stalledSince ?? MonotonicClock.nanoseconds()
                countOutput()
                refreshInterest()
                return
            }
            close()
            return
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        outputOffset = 0
        unsentResponses = 0
        stalledSince = nil
        countOutput()
        let resumed = waitingForWritable
        waitingForWritable = false
        lastActivity = MonotonicClock.nanoseconds()
        if closeAfterWrite && inFlight == 0 {
            if failedStream && lingeringSince == nil {
                lingeringSince = lastActivity
                _ = Glibc.shutdown(descriptor, Int32(SHUT_WR))
                readAvailable()
            } else if lingeringSince == nil {
                close()
            }
        }
        // Requests read before the output stalled can go on now.
        if resumed && !closed && !stopReading { parseRequests() }
        refreshInterest()
    }

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
    private func timeOut(now: UInt64, message: String) {
        stopReading = true
        failedStream = true
        headStarted = nil
        bodyStarted = nil
        loop.server.handler.answeredByServer(status: 408)
        dispatchResponse(
            sequence: allocateSequence(),
            response: HTTPResponse(
                status: 408, headers: [("Content-Type", "application/json")],
                body: HTTPErrorBody.json(status: 408, message: message),
                closeConnection: true),
            keepAlive: false, head: false, method: "-", path: "-", started: now)
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
