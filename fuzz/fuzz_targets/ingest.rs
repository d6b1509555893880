//! libFuzzer entry of the `ingest` target; the body is `harness/ingest.rs`, shared with the CI smoke
//! in `tests/fuzz_smoke.rs`.
#![no_main]

#[path = "../harness/alloc_guard.rs"]
mod alloc_guard;
#[path = "../harness/ingest.rs"]
mod ingest;

#[global_allocator]
static ALLOC: alloc_guard::Guard = alloc_guard::Guard;

libfuzzer_sys::fuzz_target!(|data: &[u8]| ingest::run(data));
