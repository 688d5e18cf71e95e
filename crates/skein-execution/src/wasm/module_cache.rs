//! [`ModuleCache`]: what the runtime knows of each module it has seen — compiled, refused,
//! or being compiled — so that no module is compiled twice while it stays cached, and a
//! refused one never again.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use futures::channel::oneshot;
use skein_base::crypto::CryptoHash;
use wasmtime::InstancePre;

use super::{admission::Admitted, engine::GuestState, WasmError};

/// Bytes of compiled code kept: far more modules than a validator's busiest blocks use
/// (the counter example's service, the largest we build, compiles to a few MiB), so that
/// applications in use are not compiled again on every block however many there are.
const COMPILED_BYTES_MAX: usize = 512 << 20;

/// Compiled modules kept, however small.
const COMPILED_MODULES_MAX: usize = 10_000;

/// Refusals remembered: each is a hash and a short error.
const REFUSED_MODULES_MAX: usize = 10_000;

/// A module compiled and linked to the host functions, ready to instantiate.
pub(super) struct Compiled {
    pub(super) module: InstancePre<GuestState>,
    pub(super) admitted: Admitted,
    /// What it takes in memory: its compiled image.
    pub(super) size: usize,
}

/// A module compiled, or why it cannot run (or, for [`WasmError::Host`], why this node
/// could not compile it this time).
pub(super) type Verdict = Result<Arc<Compiled>, WasmError>;

/// The modules compiled (least recently used evicted past the budgets), those refused, and
/// those whose compilation is under way with who waits for them.
#[derive(Default)]
pub(super) struct ModuleCache {
    compiled: HashMap<CryptoHash, (Arc<Compiled>, u64)>,
    compiled_bytes: usize,
    refused: HashMap<CryptoHash, WasmError>,
    refused_order: VecDeque<CryptoHash>,
    compiling: HashMap<CryptoHash, Vec<oneshot::Sender<Verdict>>>,
    /// Counts lookups, to tell the least recently used module.
    uses: u64,
}

impl ModuleCache {
    /// The verdict on `hash`, if there is one.
    pub(super) fn verdict(&mut self, hash: &CryptoHash) -> Option<Verdict> {
        if let Some(error) = self.refused.get(hash) {
            return Some(Err(error.clone()));
        }
        self.uses += 1;
        let (compiled, last_use) = self.compiled.get_mut(hash)?;
        *last_use = self.uses;
        Some(Ok(compiled.clone()))
    }

    /// Registers `waiter` (if any) for the compilation of `hash`; true if none was under
    /// way, so the caller must start it.
    pub(super) fn await_compilation(
        &mut self,
        hash: CryptoHash,
        waiter: Option<oneshot::Sender<Verdict>>,
    ) -> bool {
        let started = self.compiling.contains_key(&hash);
        let waiters = self.compiling.entry(hash).or_default();
        waiters.extend(waiter);
        !started
    }

    /// Compilations under way.
    pub(super) fn compiling(&self) -> usize {
        self.compiling.len()
    }

    /// Records how the compilation of `hash` ended and hands it to those who wait.
    pub(super) fn finish(&mut self, hash: CryptoHash, verdict: Verdict) {
        match &verdict {
            Ok(compiled) => self.insert(hash, compiled.clone()),
            // This node's trouble, not the module's: the next call tries again.
            Err(WasmError::Host(_)) => {}
            Err(error) => self.refuse(hash, error.clone()),
        }
        for waiter in self.compiling.remove(&hash).unwrap_or_default() {
            let _ = waiter.send(verdict.clone());
        }
    }

    /// Remembers that `hash` cannot run, so it is never compiled or checked again.
    pub(super) fn refuse(&mut self, hash: CryptoHash, error: WasmError) {
        if self.refused.insert(hash, error).is_none() {
            self.refused_order.push_back(hash);
        }
        while self.refused_order.len() > REFUSED_MODULES_MAX {
            if let Some(oldest) = self.refused_order.pop_front() {
                self.refused.remove(&oldest);
            }
        }
    }

    fn insert(&mut self, hash: CryptoHash, compiled: Arc<Compiled>) {
        self.uses += 1;
        self.compiled_bytes += compiled.size;
        if let Some((previous, _)) = self.compiled.insert(hash, (compiled, self.uses)) {
            self.compiled_bytes -= previous.size;
        }
        while self.compiled.len() > 1
            && (self.compiled_bytes > COMPILED_BYTES_MAX
                || self.compiled.len() > COMPILED_MODULES_MAX)
        {
            let oldest = self
                .compiled
                .iter()
                .min_by_key(|(_, (_, last_use))| *last_use)
                .map(|(hash, _)| *hash);
            if let Some((evicted, _)) = oldest.and_then(|hash| self.compiled.remove(&hash)) {
                self.compiled_bytes -= evicted.size;
            }
        }
    }
}
