//! The `damselfly` binary: all logic lives in the server crate.
fn main() {
    std::process::exit(damselfly_server::run());
}
