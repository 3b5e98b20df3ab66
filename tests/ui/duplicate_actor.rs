fn main() {
    trail::info!(actor = 1, actor = 2, "twice");
}
