import Glibc

/// Commands printed for the user to run: arguments quoted for a POSIX shell, paths made absolute, and `tally`
/// named as it was started, so that a command copied from a message works as printed, from any directory.
enum ShellCommand {
    /// `text` as one shell word: unchanged when it holds only characters no shell treats specially, else
    /// single-quoted (a `'` inside becoming `'\''`).
    static func quoted(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-_./=:,+@%".utf8.contains(byte)
            }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    /// `path` made absolute (links resolved); when it cannot be resolved (it does not exist, say), a relative
    /// path is joined to the working directory, and an absolute one is returned as given.
    static func absolute(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else {
            guard !path.hasPrefix("/"), let directory = getcwd(nil, 0) else { return path }
            defer { free(directory) }
            return String(cString: directory) + "/" + path
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// How to run this `tally` again, quoted: the path it was started by, made absolute, when it names one (a
    /// build directory's binary, or `swift run`'s); `tally` when it was found on `PATH`.
    static var tally: String {
        guard let first = CommandLine.arguments.first, first.contains("/") else { return "tally" }
        return quoted(absolute(first))
    }
}
