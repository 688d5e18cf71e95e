//! `skein validator …` and `skein revoke-epochs`: the committees, as the admin chain keeps
//! them. Changing one creates the next epoch; chains move to it as they are next used.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context as _};
use skein_base::{Committee, Epoch, ValidatorPublicKey, ValidatorState};
use skein_core::ChainInfoQuery;
use skein_execution::{Operation, SystemOperation};

use crate::{cli::ValidatorCommand, context::Context};

/// `skein validator list|add|remove|set-address|rotate-key`
pub async fn validator(context: &mut Context, command: ValidatorCommand) -> anyhow::Result<()> {
    match command {
        ValidatorCommand::List => list(context).await,
        ValidatorCommand::Add {
            public_key,
            address,
            votes,
        } => {
            next_committee(context, |members| {
                if members.contains_key(&public_key) {
                    bail!("{public_key} is a member already; use `skein validator set-address`");
                }
                let network_address = checked_address(&address)?;
                members.insert(
                    public_key,
                    ValidatorState {
                        network_address,
                        votes,
                    },
                );
                Ok(())
            })
            .await
        }
        ValidatorCommand::Remove { public_key } => {
            next_committee(context, |members| {
                members
                    .remove(&public_key)
                    .map(|_| ())
                    .ok_or_else(|| anyhow!("{public_key} is not a member of the committee"))
            })
            .await
        }
        ValidatorCommand::SetAddress {
            public_key,
            address,
            votes,
        } => {
            next_committee(context, |members| {
                let member = members
                    .get_mut(&public_key)
                    .ok_or_else(|| anyhow!("{public_key} is not a member of the committee"))?;
                member.network_address = checked_address(&address)?;
                if let Some(votes) = votes {
                    member.votes = votes;
                }
                Ok(())
            })
            .await
        }
        ValidatorCommand::RotateKey {
            public_key,
            new_public_key,
        } => {
            next_committee(context, |members| {
                if members.contains_key(&new_public_key) {
                    bail!("{new_public_key} is a member already: a rotated key must be new");
                }
                let member = members
                    .remove(&public_key)
                    .ok_or_else(|| anyhow!("{public_key} is not a member of the committee"))?;
                members.insert(new_public_key, member);
                Ok(())
            })
            .await
        }
    }
}

/// `skein revoke-epochs EPOCH`
pub async fn revoke_epochs(context: &mut Context, last: u32) -> anyhow::Result<()> {
    let (current, committees) = live_committees(context).await?;
    let last = Epoch(last);
    if last >= current {
        bail!("epoch {last} cannot be revoked: the current epoch is {current}, and only older ones can be");
    }
    let revoked: Vec<Epoch> = committees
        .keys()
        .copied()
        .filter(|epoch| *epoch <= last)
        .collect();
    if revoked.is_empty() {
        output_line!("no live epoch up to {last}: nothing to revoke");
        return Ok(());
    }
    let operations = revoked
        .iter()
        .map(|epoch| Operation::System(SystemOperation::RevokeEpoch { epoch: *epoch }))
        .collect();
    let certificate = admin_chain(context)?.execute_operations(operations).await?;
    let names: Vec<String> = revoked.iter().map(ToString::to_string).collect();
    output_line!(
        "revoked epochs {} in block {} of the admin chain",
        names.join(", "),
        certificate.value().block.height
    );
    Ok(())
}

async fn list(context: &mut Context) -> anyhow::Result<()> {
    let (current, committees) = live_committees(context).await?;
    for (epoch, committee) in committees.iter().rev() {
        let mark = if *epoch == current { " (current)" } else { "" };
        output_line!(
            "epoch {epoch}{mark}: {} validators, {} votes, quorum {}",
            committee.validators().len(),
            committee.total_votes(),
            committee.quorum_threshold()
        );
        for (key, state) in committee.validators() {
            output_line!("  {key}  {}  votes {}", state.network_address, state.votes);
        }
    }
    Ok(())
}

/// The admin chain's epoch and live committees, after catching up with the validators.
async fn live_committees(
    context: &mut Context,
) -> anyhow::Result<(Epoch, BTreeMap<Epoch, Committee>)> {
    context
        .client
        .follow_admin_chain()
        .await
        .context("cannot learn the admin chain from the validators")?;
    let admin = context.client.admin_chain();
    let query = ChainInfoQuery {
        request_committees: true,
        ..ChainInfoQuery::new(admin)
    };
    let info = context
        .client
        .local_node()
        .handle_chain_info_query(query)
        .await?;
    Ok((info.epoch, info.requested_committees.unwrap_or_default()))
}

/// Creates the next epoch with the current committee as `change` leaves it.
async fn next_committee(
    context: &mut Context,
    change: impl FnOnce(&mut BTreeMap<ValidatorPublicKey, ValidatorState>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (current, committees) = live_committees(context).await?;
    let mut members = committees
        .get(&current)
        .ok_or_else(|| anyhow!("the admin chain has no committee for its epoch {current}"))?
        .validators()
        .clone();
    change(&mut members)?;
    let committee = Committee::new(members).map_err(|error| anyhow!("{error}"))?;
    let epoch = current.try_add_one()?;
    let size = committee.validators().len();
    let certificate = admin_chain(context)?
        .execute_operation(SystemOperation::CreateCommittee { epoch, committee })
        .await?;
    output_line!(
        "created epoch {epoch} ({size} validators) in block {} of the admin chain; chains move to it as they are next used",
        certificate.value().block.height
    );
    Ok(())
}

/// The wallet's client of the admin chain: only its owners manage committees.
fn admin_chain(
    context: &Context,
) -> anyhow::Result<skein_core::ChainClient<skein_storage::LogStore>> {
    let admin = context.client.admin_chain();
    context.chain_client(admin).with_context(|| {
        format!("only the owners of the admin chain {admin} manage committees, and it is not in this wallet")
    })
}

/// An address as the committee will publish it: HOST:PORT with a port.
fn checked_address(address: &str) -> anyhow::Result<String> {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(address.to_string())
        }
        _ => bail!("{address:?} is not HOST:PORT"),
    }
}
