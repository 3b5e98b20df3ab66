fn main() {
    trail::info!(a = 1 b = 2);
}
