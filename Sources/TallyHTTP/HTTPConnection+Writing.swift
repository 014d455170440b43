import CTallyShims
import Glibc
import TallyStorage

// Writing a connection's answers: in request order, pipelined answers in one send, the rest when the socket takes more.

extension HTTPConnection {
    func allocateSequence() -> Int {
        defer { nextSequence += 1 }
        return nextSequence
    }

    /// Records a finished response and writes every response that is now next in order. The response
    /// carries the request's id (``RequestID``) in `X-Request-Id`, as its log line does.
    func dispatchResponse(
        sequence: Int, response: HTTPResponse, keepAlive: Bool, head: Bool, legacy: Bool = false,
        method: String, path: String, started: UInt64, requestId: String
    ) {
        // Logged even when the client has gone: the request was handled (an ingest stored) all the same.
        loop.logRequest(
            RequestLogEntry(
                method: method, path: path, status: response.status,
                milliseconds: MonotonicClock.seconds(since: started) * 1e3, failure: response.failure,
                client: clientAddress, requestId: requestId))
        guard !closed else { return }
        var response = response
        response.headers.append((RequestID.headerName, requestId))
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
    func emit(_ response: HTTPResponse, keepAlive: Bool, head: Bool, legacy: Bool) -> Bool {
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

    func writePending() {
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
}
