fn main() {
    trail::info!(targt: "x", "m");
}
