//! A stack limit every validator reaches at the same call, whatever its CPU or compiler.
//!
//! Wasmtime's own limit is in native bytes, and how many bytes a Wasm frame takes depends
//! on the architecture, the compiler's version and its register allocation: a guest that
//! recurses deeply could overflow on one validator and not on another, and they would
//! disagree on the block. So each module is rewritten, before it is compiled, to count its
//! stack in a unit of its own, from the module alone:
//!
//! - each defined function `f` gets a *thunk* of the same type, appended after all the
//!   module's functions, that adds `f`'s cost to a global counter, traps if the counter
//!   passes [`limits::WASM_STACK_UNITS_MAX`], calls `f`, and takes the cost off again;
//! - every reference to `f` (calls, exports, table elements, `ref.func`, the start
//!   function) is redirected to its thunk; only the thunks call the functions themselves,
//!   so the original functions keep their indices (and the name section stays true);
//! - `f`'s cost is [`limits::WASM_FRAME_UNITS`], plus its locals (parameters included) and its
//!   parameters again (the thunk's copy), a vector counting two and any other value one,
//!   plus the highest its operand stack gets, as Wasm validation defines it: numbers read
//!   off the module, the same on every machine.
//!
//! The counter is exported as [`DEPTH_EXPORT`], so that the runtime can tell this trap
//! from the guest's own `unreachable`: after a trap, a counter above the limit means the
//! stack ran out. The native limit is set far above what the units can reach (see
//! `engine.rs`), so the count always trips first.

use wasm_encoder::{
    reencode::{self, Reencode},
    ConstExpr, ExportKind, GlobalType, Instruction, SectionId, ValType,
};
use wasmparser::{
    CompositeInnerType, FunctionBody, Parser, Payload, TypeRef, ValidPayload, Validator,
    WasmFeatures,
};

use skein_base::limits;

use super::WasmError;

/// [`limits::WASM_STACK_UNITS_MAX`] as the thunks compare it.
const UNITS_MAX_I32: i32 = 1 << 16;

const _: () = assert!(UNITS_MAX_I32.unsigned_abs() == limits::WASM_STACK_UNITS_MAX);

/// The name the stack counter is exported under; a module may not export it itself.
pub(super) const DEPTH_EXPORT: &str = "skein:stack-units";

/// Rewrites `bytes`, an admitted module, so that it counts its stack (see the module
/// docs). A module that defines no function cannot recurse and is returned as it is.
pub(super) fn instrument(bytes: &[u8]) -> Result<Vec<u8>, WasmError> {
    let shape = Shape::read(bytes)?;
    if shape.functions.is_empty() {
        return Ok(bytes.to_vec());
    }
    let mut rewriter = Rewriter {
        shape,
        globals_written: false,
        exports_written: false,
    };
    let mut module = wasm_encoder::Module::new();
    rewriter
        .parse_core_module(&mut module, Parser::new(0), bytes)
        .map_err(|error| WasmError::InvalidModule(format!("metering the stack: {error:?}")))?;
    Ok(module.finish())
}

/// What the rewrite needs to know of a module before it starts.
struct Shape {
    imported_functions: u32,
    /// The global the counter takes: after every imported and defined global.
    counter: u32,
    /// Every defined function, in order.
    functions: Vec<Defined>,
}

/// What the rewrite needs to know of a defined function.
struct Defined {
    /// Its type's index.
    ty: u32,
    /// Its type's parameters.
    params: Params,
    /// What a call of it costs, in stack units (known once its body is read).
    cost: u32,
}

impl Shape {
    fn read(bytes: &[u8]) -> Result<Self, WasmError> {
        let mut shape = Shape {
            imported_functions: 0,
            counter: 0,
            functions: Vec::new(),
        };
        // Validation is what knows the height of the operand stack; wasmtime has already
        // checked the module against the engine's features, so every feature is allowed.
        let mut validator = Validator::new_with_features(WasmFeatures::all());
        let mut type_params = Vec::new();
        let mut bodies = 0;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(invalid)?;
            match &payload {
                Payload::ImportSection(reader) => {
                    for import in reader.clone().into_imports() {
                        match import.map_err(invalid)?.ty {
                            TypeRef::Func(_) | TypeRef::FuncExact(_) => {
                                shape.imported_functions += 1
                            }
                            TypeRef::Global(_) => shape.counter += 1,
                            _ => {}
                        }
                    }
                }
                Payload::TypeSection(reader) => {
                    for group in reader.clone() {
                        for ty in group.map_err(invalid)?.into_types() {
                            type_params.push(match ty.composite_type.inner {
                                CompositeInnerType::Func(function) => Params {
                                    count: u32::try_from(function.params().len())
                                        .unwrap_or(u32::MAX),
                                    units: function.params().iter().copied().map(units).sum(),
                                },
                                _ => Params::default(),
                            });
                        }
                    }
                }
                Payload::GlobalSection(reader) => shape.counter += reader.count(),
                Payload::FunctionSection(reader) => {
                    for ty in reader.clone() {
                        let ty = ty.map_err(invalid)?;
                        shape.functions.push(Defined {
                            ty,
                            params: type_params.get(ty as usize).copied().unwrap_or_default(),
                            cost: 0,
                        });
                    }
                }
                _ => {}
            }
            if let ValidPayload::Func(function, body) =
                validator.payload(&payload).map_err(invalid)?
            {
                let mut function = function.into_validator(Default::default());
                let height = max_operand_height(&mut function, &body)?;
                let locals = (0..function.len_locals())
                    .filter_map(|index| function.get_local_type(index))
                    .map(units)
                    .fold(0u32, u32::saturating_add);
                // Bodies come in the order of the functions they define.
                if let Some(defined) = shape.functions.get_mut(bodies) {
                    defined.cost = cost(locals, defined.params.units, height);
                }
                bodies += 1;
            }
        }
        Ok(shape)
    }

    /// The index of the thunk that stands for function `index`.
    fn thunk(&self, index: u32) -> u32 {
        if index < self.imported_functions {
            return index;
        }
        index.saturating_add(self.defined_count())
    }

    fn defined_count(&self) -> u32 {
        // A module's functions are counted in u32 by the binary format itself.
        u32::try_from(self.functions.len()).unwrap_or(u32::MAX)
    }
}

/// A function type's parameters.
#[derive(Clone, Copy, Default)]
struct Params {
    count: u32,
    /// Their stack units.
    units: u32,
}

/// Stack units a value of type `ty` takes in a frame: two for a vector, one for the rest.
fn units(ty: wasmparser::ValType) -> u32 {
    match ty {
        wasmparser::ValType::V128 => 2,
        _ => 1,
    }
}

/// A function's cost: its frame, its locals (parameters included), its arguments again
/// (the thunk holds them too) and its operand stack at its highest.
fn cost(locals: u32, params: u32, operand_height: u32) -> u32 {
    limits::WASM_FRAME_UNITS
        .saturating_add(locals)
        .saturating_add(params)
        .saturating_add(operand_height)
        .min(limits::WASM_STACK_UNITS_MAX + 1)
}

/// Validates `body` operator by operator, returning the highest its operand stack gets.
fn max_operand_height<T: wasmparser::WasmModuleResources>(
    function: &mut wasmparser::FuncValidator<T>,
    body: &FunctionBody<'_>,
) -> Result<u32, WasmError> {
    let mut reader = body.get_binary_reader();
    function.read_locals(&mut reader).map_err(invalid)?;
    let mut operators = wasmparser::OperatorsReader::new(reader);
    let mut highest = 0;
    while !operators.eof() {
        let (operator, offset) = operators.read_with_offset().map_err(invalid)?;
        function.op(offset, &operator).map_err(invalid)?;
        highest = highest.max(function.operand_stack_height());
    }
    operators.finish().map_err(invalid)?;
    Ok(highest)
}

/// The re-encoder that adds the counter, its export and the thunks, and points every
/// reference to a defined function at its thunk.
struct Rewriter {
    shape: Shape,
    globals_written: bool,
    exports_written: bool,
}

impl Rewriter {
    fn add_counter(&mut self, globals: &mut wasm_encoder::GlobalSection) {
        globals.global(
            GlobalType {
                val_type: ValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
        self.globals_written = true;
    }

    fn add_export(&mut self, exports: &mut wasm_encoder::ExportSection) {
        exports.export(DEPTH_EXPORT, ExportKind::Global, self.shape.counter);
        self.exports_written = true;
    }

    /// The thunk of `function`, the `defined`-th defined function.
    fn thunk_body(&self, defined: u32, function: &Defined) -> wasm_encoder::Function {
        let counter = self.shape.counter;
        // Costs are at most `limits::WASM_STACK_UNITS_MAX + 1`, far within an i32.
        let cost = i32::try_from(function.cost).unwrap_or(i32::MAX);
        let mut thunk = wasm_encoder::Function::new([]);
        thunk
            .instruction(&Instruction::GlobalGet(counter))
            .instruction(&Instruction::I32Const(cost))
            .instruction(&Instruction::I32Add)
            .instruction(&Instruction::GlobalSet(counter))
            .instruction(&Instruction::GlobalGet(counter))
            .instruction(&Instruction::I32Const(UNITS_MAX_I32))
            .instruction(&Instruction::I32GtU)
            .instruction(&Instruction::If(wasm_encoder::BlockType::Empty))
            .instruction(&Instruction::Unreachable)
            .instruction(&Instruction::End);
        for param in 0..function.params.count {
            thunk.instruction(&Instruction::LocalGet(param));
        }
        thunk
            .instruction(&Instruction::Call(self.shape.imported_functions + defined))
            .instruction(&Instruction::GlobalGet(counter))
            .instruction(&Instruction::I32Const(cost))
            .instruction(&Instruction::I32Sub)
            .instruction(&Instruction::GlobalSet(counter))
            .instruction(&Instruction::End);
        thunk
    }
}

/// Where a section of kind `id` stands in a module: sections come in this order (the
/// tag section between memories and globals, data count before code), whatever their ids.
fn position(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

impl Reencode for Rewriter {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, index: u32) -> Result<u32, reencode::Error> {
        Ok(self.shape.thunk(index))
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        reencode::utils::parse_function_section(self, functions, section)?;
        for function in &self.shape.functions {
            functions.function(function.ty);
        }
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_counter(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.add_export(exports);
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        reencode::utils::parse_code_section(self, code, section)?;
        for (defined, function) in (0..).zip(&self.shape.functions) {
            code.function(&self.thunk_body(defined, function));
        }
        Ok(())
    }

    /// Custom sections are kept byte for byte: the original functions keep their indices,
    /// so the name section still names them.
    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error> {
        module.section(&self.custom_section(section)?);
        Ok(())
    }

    /// Writes the global and export sections where the module has none.
    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error> {
        let past = |section| before.is_none_or(|id| position(id) > position(section));
        if past(SectionId::Global) && !self.globals_written {
            let mut globals = wasm_encoder::GlobalSection::new();
            self.add_counter(&mut globals);
            module.section(&globals);
        }
        if past(SectionId::Export) && !self.exports_written {
            let mut exports = wasm_encoder::ExportSection::new();
            self.add_export(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }
}

fn invalid(error: wasmparser::BinaryReaderError) -> WasmError {
    WasmError::InvalidModule(error.to_string())
}
