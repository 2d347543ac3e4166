//! The documented workflows, as library calls: an All-in-One routine measurement
//! ([`measure`]) and Multichannel tracking ([`track`], built on the sans-IO [`Tracker`]).
//!
//! Both leave the instrument clean when anything fails: the routine is stopped and closed,
//! the channels are stopped. Only a dead connection prevents that; the workflow then says so
//! ([`WorkflowEvent::RoutineLeftOpen`], [`TrackEvent::ChannelsLeftRunning`]) and the caller
//! cleans up on a fresh connection ([`close_routine_at`], [`stop_channels_at`]).

#[cfg(feature = "client")]
mod fresh_connection;
#[cfg(feature = "client")]
mod measure;
mod track;
#[cfg(feature = "client")]
mod track_driver;

#[cfg(feature = "client")]
pub use fresh_connection::{close_routine_at, stop_channels_at};
#[cfg(feature = "client")]
pub use measure::{
    Measurement, MeasurementWatch, Verdict, WorkflowEvent, WorkflowOptions, measure,
};
pub use track::{StopReason, TrackEvent, TrackOptions, TrackStep, TrackSummary, Tracker};
#[cfg(feature = "client")]
pub use track_driver::track;
