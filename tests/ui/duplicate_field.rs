fn main() {
    trail::info!(id = 1, id = 2, "twice");
}
