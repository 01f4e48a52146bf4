//! `.secrets.yaml` / `.sops.yaml` validate or fail; a valid config stays valid written back (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::parse_config(data));
