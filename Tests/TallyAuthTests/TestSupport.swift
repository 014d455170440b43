import Foundation
import TallyTestSupport

extension SplitMix64 {
    /// Returns `count` pseudo-random bytes.
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

/// Failure of an external reference tool.
struct ReferenceToolError: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String
}

/// Runs the reference implementations installed on the machine (python3 hashlib/hmac, coreutils sha256sum).
enum ReferenceTool {
    /// Runs a Python 3 script and returns its standard output.
    ///
    /// - Parameters:
    ///   - script: The program text passed to `python3 -c`.
    ///   - arguments: Extra command-line arguments (`sys.argv[1...]`).
    /// - Returns: The standard output, decoded as UTF-8.
    /// - Throws: ``ReferenceToolError`` if the process cannot start or exits with a non-zero status.
    static func python(_ script: String, arguments: [String] = []) throws -> String {
        try run(executable: "/usr/bin/python3", arguments: ["-c", script] + arguments, input: nil)
    }

    /// Hashes bytes with coreutils `sha256sum`.
    ///
    /// - Parameters:
    ///   - input: The bytes to hash (kept small so the pipe never fills).
    /// - Returns: The lowercase hex digest.
    /// - Throws: ``ReferenceToolError`` if the tool fails.
    static func sha256sum(_ input: [UInt8]) throws -> String {
        let output = try run(executable: "/usr/bin/sha256sum", arguments: [], input: input)
        return String(output.prefix(64))
    }

    /// Runs a process to completion.
    ///
    /// - Parameters:
    ///   - executable: The absolute path of the program.
    ///   - arguments: Its arguments.
    ///   - input: Bytes written to standard input, or `nil` for none.
    /// - Returns: The standard output, decoded as UTF-8.
    /// - Throws: ``ReferenceToolError`` on a non-zero exit status.
    private static func run(executable: String, arguments: [String], input: [UInt8]?) throws -> String {
        let outcome = try ChildProcess.run(executable, arguments, input: input ?? [])
        guard outcome.exitStatus == 0 else {
            throw ReferenceToolError(
                description:
                    "\(executable) ended with \(outcome.exitStatus.map { "status \($0)" } ?? "signal \(outcome.signal ?? 0)"): \(String(decoding: outcome.errors, as: UTF8.self))"
            )
        }
        return String(decoding: outcome.output, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Creates bytes from a hexadecimal string (whitespace ignored).
    ///
    /// - Parameters:
    ///   - hex: Pairs of hex digits.
    init(hex: String) {
        let digits = hex.filter { !$0.isWhitespace }.map { UInt8($0.hexDigitValue ?? 0) }
        self = stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// The bytes as lowercase hexadecimal.
    var hex: String {
        map { String(format: "%02x", $0) }.joined()
    }
}

/// The UTF-8 bytes of a string.
///
/// - Parameters:
///   - text: The string.
/// - Returns: Its UTF-8 encoding.
func utf8(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
