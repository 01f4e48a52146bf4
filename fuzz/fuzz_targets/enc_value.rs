//! ENC[...] values parse and decrypt or fail; encrypt, decrypt gives the value back (see secrets::fuzzing).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| secrets::fuzzing::enc_value(data));
