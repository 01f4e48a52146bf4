//! Encrypted files of every format load or fail, and load, save, load is stable (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::parse_encrypted(data));
