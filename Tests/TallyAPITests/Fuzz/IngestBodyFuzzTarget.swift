import Foundation
import TallyCore
import TallyTestSupport

@testable import TallyAPI

/// Fuzz target: bytes as an ingest request body under each `Content-Type` the API reads (one JSON event, a
/// JSON array, NDJSON, CloudEvents structured and batch).
///
/// Properties: the body as a whole is refused with 400 (415 only for a type the API does not read), or gives
/// one result per event (per array element, per non-blank line); each result is a typed validation error or an
/// event that round-trips (``EventRoundTrip``).
enum IngestBodyFuzzTarget {
    /// The content types tried, the first byte of a libFuzzer input choosing one. `nil` means no header.
    static let contentTypes: [String?] = [
        nil, "application/json", "Application/JSON; charset=utf-8", "text/json", "application/x-ndjson",
        "application/jsonl", "application/json-seq", "application/cloudevents+json",
        "application/cloudevents-batch+json", "text/plain",
    ]
    static let supportedTypes: Set = [
        "application/json", "text/json", "application/x-ndjson", "application/jsonl",
        "application/cloudevents+json", "application/cloudevents-batch+json",
    ]

    /// Runs one libFuzzer input: the first byte picks the content type, the rest is the body.
    static func check(_ input: [UInt8]) -> FuzzVerdict {
        guard let selector = input.first else { return .rejected(stage: "empty") }
        return check(body: Array(input.dropFirst()), contentType: contentTypes[Int(selector) % contentTypes.count])
    }

    /// Splits and decodes one body and checks the results.
    static func check(body: [UInt8], contentType: String?) -> FuzzVerdict {
        let type =
            contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            ?? "application/json"
        let results: [Result<Event, EventValidationError>]
        do throws(IngestBody.Failure) {
            results = try IngestBody.events(
                body: body, contentType: contentType, receivedAt: EventJSONFuzzTarget.receivedAt)
        } catch {
            let codes: [APIErrorCode] =
                supportedTypes.contains(type) ? [.malformedJson, .invalidBody] : [.unsupportedMediaType]
            guard error.status == (supportedTypes.contains(type) ? 400 : 415), codes.contains(error.code),
                !error.message.isEmpty
            else {
                return .violated("body refused with \(error.status) \(error.code) for \(type)")
            }
            return .rejected(stage: "body")
        }
        if let expected = expectedCount(body, type: type), expected != results.count {
            return .violated("\(results.count) results for a \(type) body of \(expected) events")
        }
        var accepted = false
        for result in results {
            switch result {
            case .success(let event):
                if let violation = EventRoundTrip.violation(event) { return .violated(violation) }
                accepted = true
            case .failure(let error):
                if error.rule.isEmpty { return .violated("a validation error without a rule") }
            }
        }
        return accepted ? .accepted : .rejected(stage: "events")
    }

    /// How many results a readable body must give, by a simpler route than the API's: array elements, or lines
    /// that are not blank.
    private static func expectedCount(_ body: [UInt8], type: String) -> Int? {
        switch type {
        case "application/x-ndjson", "application/jsonl":
            return body.split(separator: 0x0A, omittingEmptySubsequences: false).filter { line in
                let content = line.last == 0x0D ? line.dropLast() : line
                return content.contains { $0 != 0x20 && $0 != 0x09 }
            }.count
        case "application/json", "text/json", "application/cloudevents-batch+json":
            guard let value = try? JSONParser().parse(body) else { return nil }
            if case .array(let items) = value { return items.count }
            return type == "application/cloudevents-batch+json" ? nil : 1
        default:
            return nil
        }
    }

    /// Seed inputs: each body shape under its content type.
    static func seeds() -> [[UInt8]] {
        let events = EventJSONFuzzTarget.seeds()
        let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        let cloudEvent =
            #"{"specversion":"1.0","id":"ce-1","source":"/billing","type":"api.call","subject":"\#(tenant)","time":"2025-07-10T14:30:00Z","data":{"keyId":"k","status":200}}"#
        func input(_ type: String, _ body: [UInt8]) -> [UInt8] {
            [UInt8(contentTypes.firstIndex(of: type) ?? 0)] + body
        }
        return [
            input("application/json", events[0]),
            input(
                "application/json",
                Array("[".utf8) + Array(events.prefix(4).joined(separator: Array(",".utf8))) + Array("]".utf8)),
            input("application/x-ndjson", Array(events.prefix(6).joined(separator: [0x0A]))),
            input("application/cloudevents+json", Array(cloudEvent.utf8)),
            input("application/cloudevents-batch+json", Array("[\(cloudEvent),\(cloudEvent)]".utf8)),
        ]
    }
}
