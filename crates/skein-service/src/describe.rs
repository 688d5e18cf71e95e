//! Operations and messages in one line each, for people: modules and application inputs
//! by their size, not their bytes.

use skein_base::BytecodeId;
use skein_execution::{Message, Operation, SystemMessage, SystemOperation};

/// An operation in one line.
pub fn operation(operation: &Operation) -> String {
    match operation {
        Operation::System(SystemOperation::PublishBytecode { contract, service }) => format!(
            "PublishBytecode {} (contract {} bytes, service {} bytes)",
            BytecodeId::of(contract, service),
            contract.len(),
            service.len()
        ),
        Operation::System(operation) => format!("{operation:?}"),
        Operation::User {
            application_id,
            bytes,
        } => format!("application {application_id}: {} bytes", bytes.len()),
    }
}

/// A message in one line.
pub fn message(message: &Message) -> String {
    match message {
        Message::System(SystemMessage::RegisterApplications(applications)) => {
            let ids: Vec<String> = applications
                .iter()
                .map(|description| description.id().to_string())
                .collect();
            format!("RegisterApplications [{}]", ids.join(", "))
        }
        Message::System(message) => format!("{message:?}"),
        Message::User {
            application_id,
            bytes,
        } => format!("application {application_id}: {} bytes", bytes.len()),
    }
}
