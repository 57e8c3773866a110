//! The fault and abuse suite as library code, so `cargo test -p load-tests`
//! (quick, bounded) and `cargo run --release -p load-tests -- faults` (full)
//! run the same scenarios; see [`faults`].

pub mod faults;
