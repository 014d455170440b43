import TallyCLI
TallyCommandLine.main()
