//! Admission: whether a module is one Skein can run, decided from its bytes alone.
//!
//! Validators check every publication on the way to their vote, so the check must be
//! cheap: it validates and parses the module (milliseconds for the largest), it does not
//! compile it. And it must be the same everywhere, so that every validator accepts or
//! refuses the same block: it reads nothing but the bytes and the engine's fixed features.

use skein_base::limits;
use wasmparser::{
    CompositeInnerType, ElementItems, ExternalKind, FuncType, Parser, Payload, TypeRef, ValType,
};

use super::{host, stack_meter, WasmError};

/// Bytes in a Wasm page.
const WASM_PAGE_BYTES: u64 = 65_536;

/// What admission learnt of a module that the runtime needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Admitted {
    /// Fuel each instantiation burns before the guest runs: [`limits::INSTANTIATION_FUEL`] plus one
    /// unit per byte of data segments and per table element it initialises (what
    /// `memory.init` and `table.init` cost when the guest does the same itself).
    pub instantiation_fuel: u64,
}

/// Admits `bytes` if they are a valid module (for `engine`'s features), import only host
/// functions with their signatures, export a memory and `skein_alloc(i32) -> i32`, and
/// start within the memory and table limits with at most one of each.
pub(super) fn admit(engine: &wasmtime::Engine, bytes: &[u8]) -> Result<Admitted, WasmError> {
    if bytes.len() > limits::BYTECODE_BYTES_MAX {
        return Err(WasmError::BytecodeTooLarge {
            size: bytes.len(),
            limit: limits::BYTECODE_BYTES_MAX,
        });
    }
    wasmtime::Module::validate(engine, bytes)
        .map_err(|error| WasmError::InvalidModule(format!("{error:#}")))?;
    let mut shape = Shape::default();
    for payload in Parser::new(0).parse_all(bytes) {
        shape.read(payload.map_err(invalid)?)?;
    }
    shape.check()?;
    Ok(Admitted {
        instantiation_fuel: limits::INSTANTIATION_FUEL
            .saturating_add(shape.data_bytes)
            .saturating_add(shape.table_elements_initialised),
    })
}

/// The parts of a module admission looks at, gathered section by section.
#[derive(Default)]
struct Shape {
    /// The module's types; `None` for those that are not function types.
    types: Vec<Option<FuncType>>,
    /// The type index of every function, imported ones first.
    functions: Vec<u32>,
    memories: usize,
    tables: usize,
    /// The index of the exported `memory`, if it is a memory.
    memory_export: Option<Option<u32>>,
    /// The function index of `skein_alloc`, if exported as a function.
    alloc_export: Option<Option<u32>>,
    data_bytes: u64,
    table_elements_initialised: u64,
}

impl Shape {
    fn read(&mut self, payload: Payload<'_>) -> Result<(), WasmError> {
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for ty in group.map_err(invalid)?.into_types() {
                        self.types.push(match ty.composite_type.inner {
                            CompositeInnerType::Func(function) => Some(function),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let missing = || WasmError::MissingImport {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                    };
                    if import.module != "skein" {
                        return Err(missing());
                    }
                    let (_, params, results) = host::SIGNATURES
                        .iter()
                        .find(|(name, _, _)| *name == import.name)
                        .ok_or_else(missing)?;
                    let (TypeRef::Func(index) | TypeRef::FuncExact(index)) = import.ty else {
                        return Err(missing());
                    };
                    if !self.is_i32_function(index, *params, *results) {
                        return Err(WasmError::InvalidModule(format!(
                            "skein::{} takes {params} i32 and returns {results} i32",
                            import.name
                        )));
                    }
                    self.functions.push(index);
                }
            }
            Payload::FunctionSection(reader) => {
                for index in reader {
                    self.functions.push(index.map_err(invalid)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table.map_err(invalid)?;
                    self.tables += 1;
                    if table.ty.initial > u64::from(limits::WASM_TABLE_ELEMENTS_MAX) {
                        return Err(WasmError::InvalidModule(format!(
                            "a table starts at {} elements, above the limit of {}",
                            table.ty.initial,
                            limits::WASM_TABLE_ELEMENTS_MAX
                        )));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(invalid)?;
                    self.memories += 1;
                    let minimum = memory.initial.saturating_mul(WASM_PAGE_BYTES);
                    if minimum > limits::WASM_MEMORY_BYTES_MAX as u64 {
                        return Err(WasmError::InvalidModule(format!(
                            "the memory starts at {minimum} bytes, above the limit of {}",
                            limits::WASM_MEMORY_BYTES_MAX
                        )));
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(invalid)?;
                    let function =
                        matches!(export.kind, ExternalKind::Func | ExternalKind::FuncExact);
                    match export.name {
                        "memory" => {
                            self.memory_export =
                                Some((export.kind == ExternalKind::Memory).then_some(export.index))
                        }
                        "skein_alloc" => {
                            self.alloc_export = Some(function.then_some(export.index));
                        }
                        stack_meter::DEPTH_EXPORT => {
                            return Err(WasmError::InvalidModule(format!(
                                "`{}` is the runtime's own export",
                                stack_meter::DEPTH_EXPORT
                            )))
                        }
                        _ => {}
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    let count = match element.map_err(invalid)?.items {
                        ElementItems::Functions(items) => items.count(),
                        ElementItems::Expressions(_, items) => items.count(),
                    };
                    self.table_elements_initialised =
                        self.table_elements_initialised.saturating_add(count.into());
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let length = data.map_err(invalid)?.data.len() as u64;
                    self.data_bytes = self.data_bytes.saturating_add(length);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Checks what needs the whole module: the exports the convention requires, and no
    /// more memories and tables than an instance slot holds.
    fn check(&self) -> Result<(), WasmError> {
        if self.memories > 1 || self.tables > 1 {
            return Err(WasmError::InvalidModule(format!(
                "the module has {} memories and {} tables; at most one of each",
                self.memories, self.tables
            )));
        }
        match self.memory_export {
            None => return Err(WasmError::MissingExport("memory".into())),
            Some(None) => return Err(WasmError::InvalidModule("`memory` is not a memory".into())),
            Some(Some(_)) => {}
        }
        let alloc = match self.alloc_export {
            None => return Err(WasmError::MissingExport("skein_alloc".into())),
            Some(function) => function.and_then(|index| self.functions.get(index as usize)),
        };
        if !alloc.is_some_and(|&ty| self.is_i32_function(ty, 1, 1)) {
            return Err(WasmError::InvalidModule(
                "`skein_alloc` must take an i32 and return an i32".into(),
            ));
        }
        Ok(())
    }

    /// Whether type `index` is a function of `params` i32 to `results` i32.
    fn is_i32_function(&self, index: u32, params: usize, results: usize) -> bool {
        let Some(Some(function)) = self.types.get(index as usize) else {
            return false;
        };
        let all_i32 = |types: &[ValType], count: usize| {
            types.len() == count && types.iter().all(|ty| *ty == ValType::I32)
        };
        all_i32(function.params(), params) && all_i32(function.results(), results)
    }
}

fn invalid(error: wasmparser::BinaryReaderError) -> WasmError {
    WasmError::InvalidModule(error.to_string())
}
