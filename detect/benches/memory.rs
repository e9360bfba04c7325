//! Runs `examples/million_buckets.rs` under `cargo bench`: RSS of 1,000,000 live leaky buckets
//! keyed by IP (target: at most 500 MB).
//!
//! `cargo bench -p palisade-detect --bench memory`

#[path = "../examples/million_buckets.rs"]
mod million_buckets;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let (_, after) = million_buckets::run(1_000_000);
    assert!(
        after <= 500 * 1024,
        "RSS {after} kB is over the 500 MB target"
    );
}
