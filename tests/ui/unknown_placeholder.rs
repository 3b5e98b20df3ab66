fn main() {
    trail::info!("hello {nobody}");
}
