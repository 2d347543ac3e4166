//! The tokio driver of the tracking sequence (feature `client`): the sans-IO [`Tracker`]
//! over a [`Client`], with the host's clock and a stop signal.

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Instant;

use super::track::{TrackEvent, TrackOptions, TrackStep, TrackSummary, Tracker};
use crate::{Client, Error};

/// Runs the tracking sequence over `client` until `duration` ends, every channel stops by
/// itself, `stop` completes (pass `std::future::pending()` for never), or a failure; every
/// listed channel is stopped at the end (unless the connection died:
/// [`TrackEvent::ChannelsLeftRunning`]).
pub async fn track(
    client: &mut Client,
    options: TrackOptions,
    stop: impl Future<Output = ()>,
    mut on_event: impl FnMut(&TrackEvent),
) -> Result<TrackSummary, Error> {
    let mut tracker = Tracker::new(options, Instant::now())?;
    let mut stop = pin!(stop);
    let mut stop_seen = false;
    loop {
        while let Some(event) = tracker.next_event() {
            on_event(&event);
        }
        match tracker.poll(Instant::now()) {
            TrackStep::Send(request) => {
                let result = client.request(&request).await;
                let alive = client.is_usable();
                tracker.handle(result, alive, Instant::now());
                if !stop_seen {
                    let fired =
                        std::future::poll_fn(|cx| Poll::Ready(stop.as_mut().poll(cx).is_ready()))
                            .await;
                    if fired {
                        stop_seen = true;
                        tracker.stop();
                    }
                }
            }
            TrackStep::Wait(until) => {
                let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(until));
                if stop_seen {
                    sleep.await;
                } else {
                    tokio::select! {
                        _ = sleep => {}
                        _ = &mut stop => {
                            stop_seen = true;
                            tracker.stop();
                        }
                    }
                }
            }
            TrackStep::Done => break,
        }
    }
    while let Some(event) = tracker.next_event() {
        on_event(&event);
    }
    tracker.finish()
}
