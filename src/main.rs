//! The `secrets` binary: all wiring lives in `secrets::cli`.

fn main() -> std::process::ExitCode {
    secrets::cli::main()
}
