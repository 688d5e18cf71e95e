//! End-to-end protocol tests: validators and clients in one process, on the real worker,
//! client and storage code.

mod protocol {
    mod cancel;
    mod chains;
    mod checks;
    pub mod common;
    mod faults;
    mod fuel;
    mod hardening;
    mod public;
    mod publishing;
    mod reconfiguration;
    mod restart;
    mod safety;
    mod shared;
    mod simulation;
    mod tidy;
    mod transfers;
}
