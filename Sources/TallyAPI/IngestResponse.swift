import TallyCore
import TallyEngine
import TallyHTTP

/// The ingest response: a result per event and totals.
enum IngestResponse {
    /// - Parameter lines: For an NDJSON body, each event's line number (written as `line` beside `index`).
    static func make(_ outcomes: [IngestOutcome], lines: [Int] = [], metrics: APIMetrics, now: Timestamp)
        -> HTTPResponse
    {
        var accepted = 0
        var duplicates = 0
        var rejected = 0
        var failed = 0
        var reasons: [String] = []
        var results = JSONWriter(reservingCapacity: 48 * outcomes.count + 16)
        results.beginArray()
        for (index, outcome) in outcomes.enumerated() {
            results.writeElementSeparator()
            results.beginObject()
            results.writeMember("index", index)
            if index < lines.count { results.writeMember("line", lines[index]) }
            results.writeKey("status")
            switch outcome {
            case .accepted(let offset):
                accepted += 1
                results.writeRaw(#""accepted""#)
                results.writeKey("offset")
                results.writeUInt(offset)
            case .duplicate(let offset):
                duplicates += 1
                results.writeRaw(#""duplicate""#)
                results.writeKey("offset")
                results.writeUInt(offset)
            case .rejected(let reason):
                rejected += 1
                reasons.append(reason)
                results.writeRaw(#""rejected""#)
                results.writeKey("error")
                results.writeString(reason)
            case .failed(let reason, _):
                failed += 1
                results.writeRaw(#""failed""#)
                results.writeKey("error")
                results.writeString(reason)
            }
            results.endObject()
        }
        results.endArray()
        metrics.recordIngest(
            accepted: accepted, duplicates: duplicates, failed: failed, rejectedReasons: reasons)
        let status: Int
        let message: String
        if failed > 0 {
            status = 503
            message =
                "storage failed; nothing of this request was acknowledged: the server takes no writes until it is restarted (GET /healthz says why); send the request again once it is back"
        } else if rejected == outcomes.count && rejected > 0 {
            status = 422
            message = "every event was rejected: data.results gives each one's reason"
        } else if rejected > 0 {
            status = 207
            message = "some events were rejected"
        } else {
            status = 200
            message = "events ingested"
        }
        let writeData = { (writer: inout JSONWriter) in
            writer.beginObject()
            writer.writeKey("totals")
            writer.beginObject()
            writer.writeMember("received", outcomes.count)
            writer.writeMember("accepted", accepted)
            writer.writeMember("duplicates", duplicates)
            writer.writeMember("rejected", rejected)
            writer.writeMember("failed", failed)
            writer.endObject()
            writer.writeKey("results")
            writer.writeRaw(results.bytes)
            writer.endObject()
        }
        // The errors (422, 503) are the error envelope with the results as its data; a partial success (207)
        // is the success envelope, yet `success` is false: some events need the client's attention.
        if status >= 400 {
            return APIResponse.error(
                status, status == 503 ? .storageFailed : .eventsRejected, message, now: now, writeData: writeData)
        }
        return APIResponse.success(status, message: message, now: now, succeeded: status == 200, writeData: writeData)
    }
}
