import TallyCompression
import TallyCore

/// Undoes a request body's `Content-Encoding` before the body is parsed.
///
/// Supported codings: `gzip` (also its alias `x-gzip`) and `identity`. A list such as `gzip, gzip` is undone
/// from last to first, at most ``maxCodings`` of them. Each decoded body is limited to the server's largest
/// body size, so a small compressed body cannot expand into more memory than an uncompressed one could take.
enum ContentDecoding {
    /// The codings this server can undo, as named in the 415 answer and its `Accept-Encoding` header.
    static let supported = ["gzip", "x-gzip", "identity"]
    /// The most gzip codings one body may list: each is a full pass over up to `--max-body-bytes`, and a
    /// 16 KiB header could otherwise list thousands of them.
    static let maxCodings = 2

    /// The body with every listed content coding undone.
    ///
    /// - Parameters:
    ///   - body: The body as received.
    ///   - header: The `Content-Encoding` header value, if any.
    ///   - maxBytes: The most bytes a decoded body may have (the server's `--max-body-bytes`).
    ///   - remedy: What the 413 for a body that decodes past `maxBytes` tells the client to do.
    /// - Returns: The decoded body (the same bytes when there is no coding).
    /// - Throws: ``IngestBody/Failure``: 415 for an unknown coding, 413 when the decoded body exceeds `maxBytes`,
    ///   400 when the compressed data is corrupt.
    static func decode(
        _ body: [UInt8], header: String?, maxBytes: Int, remedy: String
    ) throws(IngestBody.Failure) -> [UInt8] {
        guard let header else { return body }
        let codings = HeaderValue.items(header, separator: UInt8(ascii: ",")).filter { !$0.isEmpty }
        for coding in codings where !supported.contains(coding) {
            throw IngestBody.Failure(
                status: 415, code: .unsupportedContentEncoding,
                message:
                    "Content-Encoding \(HeaderValue.quoted(coding)) is not supported; use gzip (or x-gzip) or identity",
                headers: [("Accept-Encoding", "gzip, identity")])
        }
        let passes = codings.reversed().filter { $0 != "identity" }
        guard passes.count <= maxCodings else {
            throw IngestBody.Failure(
                status: 415, code: .unsupportedContentEncoding,
                message:
                    "Content-Encoding lists \(passes.count) gzip codings; at most \(maxCodings) are undone: compress once",
                headers: [("Accept-Encoding", "gzip, identity")])
        }
        var decoded = body
        for _ in passes {
            do throws(InflateError) {
                decoded = try GzipDecoder(maxOutputBytes: maxBytes).decode(decoded)
            } catch  where error.code == .outputLimitExceeded {
                throw IngestBody.Failure(
                    status: 413, code: .payloadTooLarge,
                    message:
                        "the decompressed body exceeds the server's limit of \(maxBytes) bytes (--max-body-bytes); \(remedy)"
                )
            } catch {
                throw IngestBody.Failure(
                    status: 400, code: .invalidGzip,
                    message:
                        "the gzip body is \(error.code == .tooManyBlocks ? "refused" : "corrupt"): \(error.description)"
                )
            }
        }
        return decoded
    }
}
