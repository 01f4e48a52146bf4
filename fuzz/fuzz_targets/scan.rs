//! The scanner on arbitrary bytes: no panic, every finding inside the input (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::scan(data));
