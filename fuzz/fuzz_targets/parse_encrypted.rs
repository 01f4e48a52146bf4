//! Loading an encrypted file (metadata, ENC[...] values, flattened dotenv/INI metadata)
//! never panics on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secrets::engine::EncryptedFile;
use secrets::store::Format;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    for format in [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ] {
        let _ = EncryptedFile::parse(Path::new("fuzz"), format, data);
    }
});
