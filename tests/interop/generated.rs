//! (placeholder: filled by the fidelity work of issue 9)
