import CTallyShims
import Glibc
import TallyStorage

// Reading a connection: bounded reads, requests parsed in order, bodies admitted against the memory budget or refused on their head.

extension HTTPConnection {
    func readAvailable() {
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
                if !failure.wouldBlock {
                    logAbandonedRequest()
                    close()
                }
                return
            }
            if count > 0 {
                lastActivity = MonotonicClock.nanoseconds()
                readAt = lastActivity
                parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                parseRequests()
                if count < buffer.count { return }
                // A client that keeps the socket full gets a fair share, not the loop: its input is still
                // there at the next wake-up (input is level-triggered), after the other connections' turn.
                reads += 1
                if reads == HTTPConnection.readsPerWakeUp { return }
                continue
            }
            // The client finished sending: answer what it asked, then close. A request it left part-way gets
            // no answer (it cannot be completed), only its log line.
            logAbandonedRequest()
            stopReading = true
            closeAfterWrite = true
            if inFlight == 0 && output.count == outputOffset { close() }
            return
        }
    }

    /// Parses and dispatches every complete request that may go now, then writes the responses that the
    /// handler gave while it ran (on this thread, such as stats reads) in one `send`.
    func parseRequests() {
        guard !parsing else { return }
        parsing = true
        parseAvailableRequests()
        parsing = false
        if outputOffset < output.count { writePending() }
    }

    func parseAvailableRequests() {
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
            do throws(HTTPParseError) {
                request = try parser.next()
            } catch {
                // A malformed stream cannot be resynchronised: answer the error and close. The request's
                // timers stop with it: its answer is this one, never a 408 on top of it. The refusal names
                // the request (method, path and id) once its request line was read, whether its head, its
                // framing or its body was refused (see ``HTTPParseError/method``), and a HEAD then gets the
                // answer's head alone (RFC 9110 §9.3.2).
                stopReading = true
                failedStream = true
                headStarted = nil
                bodyStarted = nil
                let began = requestStarted ?? readAt
                requestStarted = nil
                loop.server.handler.answeredByServer(
                    status: error.status, seconds: MonotonicClock.seconds(since: began))
                dispatchResponse(
                    sequence: allocateSequence(),
                    response: HTTPErrorBody.response(
                        status: error.status, message: error.message, closeConnection: true),
                    keepAlive: false, head: error.method == .head, method: error.method?.name ?? "-",
                    path: error.path ?? "-", started: began, requestId: loop.server.requestIds.id(for: error))
                return
            }
            guard var request else {
                requestStarted = parser.isMidRequest ? (requestStarted ?? readAt) : nil
                if parser.isReceivingBody {
                    // The handler may refuse it on its head alone: before the body is read or invited. A
                    // chunked body is judged once its first chunk tells whether it is empty (an empty one is
                    // no body: a route that reads none answers it as it answers a request without one), or
                    // at once when the client waits for an invitation that must not come first.
                    if !headChecked, var head = parser.headAwaitingBody,
                        !parser.awaitsFirstChunk || parser.owesContinue
                    {
                        headChecked = true
                        head.arrivedAt = requestStarted
                        if let refusal = headRefusal(head) {
                            refuseBody(refusal, for: head)
                            return
                        }
                    }
                    // Checked before more of the body is read, and before it is invited.
                    guard
                        reserveArrivingBody(
                            received: parser.receivedBodyBytes, announced: parser.announcedBodyBytes,
                            head: parser.headAwaitingBody)
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
            request.arrivedAt = requestStarted ?? readAt
            requestStarted = request.arrivedAt
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
            guard reserveArrivingBody(received: request.body.count, announced: request.body.count, head: request)
            else { return }
            let reservation = arrivingReservation
            arrivingReservation = 0
            headStarted = nil
            bodyStarted = nil
            // A body that arrived uninvited needs no invitation; one sent after this request's response would
            // read as the next request's.
            owesContinue = false
            requestStarted = nil
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
    func reserveArrivingBody(received: Int, announced: Int, head: HTTPRequest?) -> Bool {
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
        loop.server.handler.answeredByServer(
            status: 503, seconds: MonotonicClock.seconds(since: requestStarted ?? MonotonicClock.nanoseconds()))
        refuseBody(
            HTTPErrorBody.response(
                status: 503,
                message: "the server holds as many request bodies as it may (\(limit) bytes); retry in a moment",
                headers: [("Retry-After", "1")]),
            for: head)
        return false
    }

    /// The answer to a head that no body could change: the server's own 400 for a bad `Host` (checked
    /// first, as for any request), else the handler's refusal; `nil` to read the body.
    func headRefusal(_ head: HTTPRequest) -> HTTPResponse? {
        if let problem = HostHeader.problem(in: head) {
            loop.server.handler.answeredByServer(status: 400, seconds: head.secondsSinceArrival)
            return HTTPErrorBody.response(status: 400, message: problem)
        }
        return loop.server.handler.refusal(beforeBody: head)
    }

    /// Logs the request the client left part-way, closing or resetting the connection before its head or
    /// body arrived whole, with status 499 (nginx's "client closed request"): under its method and path once
    /// its head arrived, under `-` before, counted as the server's own answer. Nothing is sent; its timers
    /// stop, so it never gets a 408 on top, and the room its body held is given back at once.
    func logAbandonedRequest() {
        guard !failedStream, !loggedAbandonedRequest, parser.holdsPartialRequest else { return }
        loggedAbandonedRequest = true
        let head = parser.headAwaitingBody
        let began = requestStarted ?? readAt
        requestStarted = nil
        headStarted = nil
        bodyStarted = nil
        owesContinue = false
        loop.server.releaseBodyBytes(arrivingReservation)
        arrivingReservation = 0
        let seconds = MonotonicClock.seconds(since: began)
        loop.server.handler.answeredByServer(status: HTTPConnection.abandonedStatus, seconds: seconds)
        loop.logRequest(
            RequestLogEntry(
                method: head?.method.name ?? "-", path: head?.path ?? "-", status: HTTPConnection.abandonedStatus,
                milliseconds: seconds * 1e3, client: clientAddress,
                requestId: loop.server.requestIds.id(for: head?.headers)))
    }

    /// The status logged for a request its client left before it arrived whole (nginx's convention).
    static let abandonedStatus = 499

    /// Answers the request whose body is arriving (`head`, when its head is known) with `response` instead,
    /// reads no more of it, and closes after the answer (lingering, so the client sees it rather than a
    /// reset). A `HEAD` request gets the answer's head alone.
    func refuseBody(_ response: HTTPResponse, for head: HTTPRequest?) {
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
            method: head?.method.name ?? "-", path: head?.path ?? "-",
            started: head?.arrivedAt ?? requestStarted ?? MonotonicClock.nanoseconds(),
            requestId: loop.server.requestIds.id(for: head?.headers))
        requestStarted = nil
    }

}
