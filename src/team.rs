//! (not implemented yet)
