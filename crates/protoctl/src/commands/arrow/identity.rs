//! `protoctl arrow identity`: the UUID and MAC a client registers with.

use std::path::PathBuf;

use arrow_client::identity::{Identity, default_mac};
use clap::Args;
use serde_json::json;

use crate::exit::CliError;
use crate::output::Output;

/// Arguments of `protoctl arrow identity`.
#[derive(Debug, Args)]
pub(crate) struct IdentityArgs {
    /// Directory holding the client identity (created with mode 0700 files on first use).
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
}

pub(crate) fn run(args: IdentityArgs, out: &mut Output) -> Result<(), CliError> {
    let (identity, created) = Identity::load_or_create(&args.state_dir)?;
    let mac = default_mac(&identity);
    out.event(
        format_args!(
            "uuid {}\nmac  {mac}{}",
            identity.uuid,
            if created {
                "\n(new identity created)"
            } else {
                ""
            }
        ),
        &json!({
            "uuid": identity.uuid,
            "mac": mac.to_string(),
            "created": created,
            "state_dir": args.state_dir,
        }),
    )
}
