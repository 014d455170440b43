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
    /// - Throws: ``UsageError`` for an unknown option, a missing value (an option's value that starts with
    ///   `--`, or is `-h`, must be given inline, `--name=--value`), an option given twice that takes one value, or the
    ///   wrong number of arguments.
    init(_ arguments: [String], spec: CommandSpec) throws(UsageError) {
        var index = 0
        var onlyPositionals = false
        // The option that took the last argument as its value, if one did.
        var lastArgumentTakenBy: (name: String, valueName: String, value: String)?
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
                throw UsageError(
                    "unknown option --\(name) (usage: tally \(spec.name) \(spec.usage))", command: spec.name)
            }
            if let valueName = option.valueName {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count else {
                        throw UsageError("--\(name) needs a value (\(valueName))", command: spec.name)
                    }
                    // The next option is not this one's value: `--data --batch-size 10` forgot the
                    // directory, and taking `--batch-size` (or `-h`) for it would make a store of that name.
                    // A single dash is left to the value's own check: `-` is standard input, `-1` a number.
                    guard !arguments[index].hasPrefix("--") && arguments[index] != "-h" else {
                        throw UsageError(
                            "--\(name) needs a value (\(valueName)), got the option \(arguments[index]); a value that starts with -- (or is -h) is given as --\(name)=VALUE",
                            command: spec.name)
                    }
                    value = arguments[index]
                    index += 1
                    if index == arguments.count { lastArgumentTakenBy = (name, valueName, value) }
                }
                // An empty path would name the current directory, or the root once a file name is added to it.
                if value.isEmpty && (valueName == "FILE" || valueName == "DIR") {
                    throw UsageError(
                        "--\(name) must name a \(valueName == "DIR" ? "directory" : "file"), got an empty value",
                        command: spec.name)
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
            // `import --batch-size in.ndjson` gave the file to the option: say so, rather than only that the
            // file is missing.
            let taken =
                positionals.count < spec.positionalCount.lowerBound
                ? lastArgumentTakenBy.map {
                    "; --\($0.name) took the last argument, \"\($0.value)\", as its \($0.valueName)"
                } ?? "" : ""
            throw UsageError(
                "expected \(expected) argument(s), got \(positionals.count)\(taken) (usage: tally \(spec.name) \(spec.usage))",
                command: spec.name)
        }
    }

    /// The last value of an option.
    func value(_ name: String) -> String? { values[name]?.last }
}
