//! Keys that look real but were published by their vendor as examples: format checks in
//! SDK test suites and documentation, copied into every project that vendors the SDK.
//! Reporting them is noise (they open nothing), and no entropy or placeholder test can tell
//! them from a live key, so they are listed by value. This file is allowlisted in
//! `.secrets-scan` for our own scan.

/// Google API keys from the Firebase SDKs' own tests (firebase-js-sdk's installations
/// precondition checks, firebase-android-sdk and the Flutter plugins' test setups): valid
/// in format, published in Apache-2.0 sources, vendored with `node_modules` and Gradle caches.
const FIREBASE_SDK_TEST_KEYS: &[&str] = &[
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
    "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
];

/// Stripe's documentation test key, printed in every code sample of its API reference.
const STRIPE_DOCS_KEYS: &[&str] = &["sk_test_4eC39HqLyjWDarjtT1zdp7dc"];

/// The secret is a vendor's published example, not a credential.
pub fn is_published_example(secret: &[u8]) -> bool {
    FIREBASE_SDK_TEST_KEYS
        .iter()
        .chain(STRIPE_DOCS_KEYS)
        .any(|k| k.as_bytes() == secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_exact() {
        assert!(FIREBASE_SDK_TEST_KEYS.windows(2).all(|w| w[0] < w[1]));
        assert!(FIREBASE_SDK_TEST_KEYS.iter().all(|k| k.len() == 39));
        assert!(is_published_example(
            b"AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM"
        ));
        // A key differing by one character is somebody's real key.
        assert!(!is_published_example(
            b"AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEN"
        ));
        assert!(!is_published_example(
            b"AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8age"
        ));
    }
}
