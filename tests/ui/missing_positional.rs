fn main() {
    trail::info!("{} and {}", 1);
}
