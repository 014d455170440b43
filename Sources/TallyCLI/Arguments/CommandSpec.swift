/// What a subcommand accepts, used both to parse its arguments and to print its `--help`.
struct CommandSpec: Sendable {
    /// One `--name` option.
    struct Option: Sendable {
        /// The name without dashes, such as `data`.
        var name: String
        /// The placeholder for its value (`DIR`), or `nil` for a flag that takes none.
        var valueName: String?
        /// One line of help.
        var help: String
        /// Whether it may be given more than once (each value kept); any other option given twice is a
        /// usage error rather than a silent "the last one wins".
        var repeatable = false
    }

    /// The subcommand's name (`import`).
    var name: String
    /// One line saying what it does.
    var summary: String
    /// The usage line after `tally NAME` (`[options] FILE|-`).
    var usage: String
    /// Extra paragraphs for `--help`: arguments, output, exit codes.
    var details: String
    /// Its options, besides `--help`.
    var options: [Option]
    /// How many positional arguments it takes.
    var positionalCount: ClosedRange<Int>

    /// The full `--help` text.
    var helpText: String {
        var text = "\(summary)\n\nUsage: tally \(name) \(usage)\n"
        if !details.isEmpty { text += "\n\(details)\n" }
        text += "\nOptions:\n"
        let rows =
            options.map { option in
                ("--\(option.name)" + (option.valueName.map { " \($0)" } ?? ""), option.help)
            } + [("-h, --help", "Show this help.")]
        let width = rows.map(\.0.count).max() ?? 0
        for (left, right) in rows {
            text += "  " + left + String(repeating: " ", count: width - left.count + 2) + right + "\n"
        }
        return text
    }
}
