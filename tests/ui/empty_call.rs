fn main() {
    trail::info!();
}
