//! Key paths (`["a"][0]`, `a.b.0`) parse without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrets::model::KeyPath;

fuzz_target!(|data: &str| {
    let _ = KeyPath::parse(data);
});
