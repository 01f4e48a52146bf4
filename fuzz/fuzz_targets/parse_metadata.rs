//! The sops metadata block reads or fails, and writes back the same, nested and flattened (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::parse_metadata(data));
