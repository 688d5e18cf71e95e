//! The deterministic simulator (see below).
