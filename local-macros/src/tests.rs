//! The expansion function, fed malformed input, never panics.
