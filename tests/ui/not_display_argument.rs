struct Opaque;

fn main() {
    trail::info!("{}", Opaque);
}
