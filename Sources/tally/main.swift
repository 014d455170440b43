import TallyCLI

TallyCommandLine.main()
