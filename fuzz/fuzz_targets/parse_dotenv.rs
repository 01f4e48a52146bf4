//! Plaintext dotenv: parse, emit, parse gives the same tree (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::parse_dotenv(data));
