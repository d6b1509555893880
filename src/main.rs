//! The `inboxd` binary: parses the command line and hands over to `cli`.

/// mimalloc instead of the system's allocator: a message is many small allocations (parsed
/// fields, rows, events), and glibc's malloc and free were a tenth of the CPU per message.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    inboxd::cli::main()
}
