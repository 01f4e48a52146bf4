//! Every store parses arbitrary bytes without panicking, and what it parsed emits and
//! parses again to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrets::model::Plain;
use secrets::store::{self, Format};

fuzz_target!(|data: &[u8]| {
    for format in [Format::Yaml, Format::Json, Format::Dotenv, Format::Ini] {
        let Ok((branches, layout)) = store::parse_bytes::<Plain>(format, data) else {
            continue;
        };
        let Ok(text) = store::emit(format, &branches, layout) else {
            continue;
        };
        let (again, _) = store::parse::<Plain>(format, &text).expect("emitted text parses");
        assert!(again == branches, "{format:?} round trip changed the tree");
    }
});
