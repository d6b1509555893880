//! libFuzzer entry of the `smtp_session` target; the body is `harness/smtp_session.rs`, shared with the CI smoke
//! in `tests/fuzz_smoke.rs`.
#![no_main]

#[path = "../harness/alloc_guard.rs"]
mod alloc_guard;
#[path = "../harness/smtp_session.rs"]
mod smtp_session;

#[global_allocator]
static ALLOC: alloc_guard::Guard = alloc_guard::Guard;

libfuzzer_sys::fuzz_target!(|data: &[u8]| smtp_session::run(data));
