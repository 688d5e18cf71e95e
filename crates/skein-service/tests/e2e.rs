//! End-to-end tests: `skein net up` and the `skein` command line as real processes on
//! 127.0.0.1.

mod e2e {
    mod committees;
    pub mod common;
    mod crashes;
    mod errors;
    mod examples;
    mod hardening;
    mod node_service;
    mod partitions;
    mod postgres;
    mod project;
    mod public;
    mod readme;
    mod validators;
    mod wallets;
}
