//! Key paths (`["a"][0]`, `a.b.0`) parse or fail, never panic (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::key_path(data));
