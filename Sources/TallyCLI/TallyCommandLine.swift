public enum TallyCommandLine {
    public static func main() {}
}
