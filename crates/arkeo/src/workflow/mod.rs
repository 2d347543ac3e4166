//! The documented workflows, as library calls: an All-in-One routine measurement
//! ([`measure`]).
//!
//! It leaves the instrument clean when anything fails: the routine is stopped and closed.
//! Only a dead connection prevents that; the workflow then says so
//! ([`WorkflowEvent::RoutineLeftOpen`]) and the caller cleans up on a fresh connection
//! ([`close_routine_at`]).

mod fresh_connection;
mod measure;

pub use fresh_connection::{close_routine_at, stop_channels_at};
pub use measure::{
    Measurement, MeasurementWatch, Verdict, WorkflowEvent, WorkflowOptions, measure,
};
