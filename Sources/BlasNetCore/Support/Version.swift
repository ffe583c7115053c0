/// The blasnet version recorded in saved models and printed by `--version`.
public enum BlasNetVersion {
    public static let string = "0.1.0"
}
