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

/// The options and arguments of one invocation, checked against a ``CommandSpec``.
struct ParsedArguments: Sendable {
    /// Positional arguments in order.
    var positionals: [String] = []
    /// Option values by name; repeated options keep every value in order.
    var values: [String: [String]] = [:]
    /// Flags that were given.
    var flags: Set<String> = []
    /// Whether `--help` or `-h` was given.
    var wantsHelp = false

    /// Parses `arguments` (after the subcommand name).
    /// - Throws: ``UsageError`` for an unknown option, a missing value, an option given twice that takes one
    ///   value, or the wrong number of arguments.
    init(_ arguments: [String], spec: CommandSpec) throws(UsageError) {
        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            if argument == "-h" || argument == "--help" {
                wantsHelp = true
                continue
            }
            guard argument.hasPrefix("--") else {
                throw UsageError("unknown option \(argument)", command: spec.name)
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let option = spec.options.first(where: { $0.name == name }) else {
                throw UsageError("unknown option --\(name)", command: spec.name)
            }
            if let valueName = option.valueName {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError("--\(name) needs a value (\(valueName))", command: spec.name)
                    }
                    value = arguments[index]
                    index += 1
                }
                if !option.repeatable, let earlier = values[name]?.first {
                    throw UsageError(
                        "--\(name) given twice (\"\(earlier)\", then \"\(value)\"); it takes one value",
                        command: spec.name)
                }
                values[name, default: []].append(value)
            } else {
                guard inlineValue == nil else { throw UsageError("--\(name) takes no value", command: spec.name) }
                flags.insert(name)
            }
        }
        if !wantsHelp && !spec.positionalCount.contains(positionals.count) {
            let expected =
                spec.positionalCount.lowerBound == spec.positionalCount.upperBound
                ? "\(spec.positionalCount.lowerBound)"
                : "\(spec.positionalCount.lowerBound)-\(spec.positionalCount.upperBound)"
            throw UsageError("expected \(expected) argument(s), got \(positionals.count)", command: spec.name)
        }
    }

    /// The last value of an option.
    func value(_ name: String) -> String? { values[name]?.last }
}

/// A mistake in how a command was invoked; exits with ``ExitCode/usage``.
struct UsageError: Error, Sendable, CustomStringConvertible {
    var message: String
    var command: String?

    init(_ message: String, command: String? = nil) {
        self.message = message
        self.command = command
    }

    var description: String {
        let hint = command.map { "run `tally \($0) --help` for usage" } ?? "run `tally --help` for usage"
        return "\(message); \(hint)"
    }
}
