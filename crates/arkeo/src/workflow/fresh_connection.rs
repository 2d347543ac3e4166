//! Cleaning up on a fresh connection, for when the workflow's own connection died (or was
//! abandoned by an interrupt): the routine is stopped and closed, the channels stopped.

use crate::all_in_one::routine;
use crate::multichannel::{self, ChannelTransition};
use crate::{Client, ClientOptions, Dialect, Error};

/// Connects to the All-in-One instrument at `addr` and sends StopMeasurement (its outcome
/// ignored: nothing may be running) and CloseRoutine. A 4006 reply (no routine open) counts
/// as done.
pub async fn close_routine_at(addr: &str, options: ClientOptions) -> Result<(), Error> {
    let mut client = Client::connect_with(addr, Dialect::AllInOne, options).await?;
    let _ = client.request(&routine::stop_measurement()).await;
    let closed = match client.request(&routine::close_routine()).await {
        Ok(_) => Ok(()),
        Err(Error::Rejected(r)) if r.code == Some(crate::ErrorCode::NO_ACTIVE_ROUTINE) => Ok(()),
        Err(e) => Err(e),
    };
    let _ = client.close().await;
    closed
}

/// Connects to the Multichannel instrument at `addr` and sends StopChannel on `channels`.
pub async fn stop_channels_at(
    addr: &str,
    channels: &[u32],
    options: ClientOptions,
) -> Result<Vec<ChannelTransition>, Error> {
    let mut client = Client::connect_with(addr, Dialect::Multichannel, options).await?;
    let reply = client
        .request(&multichannel::stop_channel(channels))
        .await?;
    let _ = client.close().await;
    Ok(ChannelTransition::from_reply(&reply)?)
}
