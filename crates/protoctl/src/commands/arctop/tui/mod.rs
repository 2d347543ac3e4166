//! `arctop listen --format tui`: a live terminal view of the stream (ratatui).
//!
//! The loop takes client events (recorded and published like every format, then shown),
//! key presses (`q` or Ctrl-C end the view like SIGINT) and signals, and redraws five
//! times a second. While the view owns the terminal, log lines are held back and the latest
//! is shown in the footer; they are written to stderr when the view closes.

mod screen;
mod state;
mod view;

use std::time::{Duration, Instant};

use arctop::EventStream;
use crossterm::event::Event as TerminalEvent;
use futures::StreamExt;

use self::screen::{Screen, quit_key};
use self::state::{Link, LiveState};
use super::taps::Taps;
use crate::exit::CliError;
use crate::logging::LogHold;
use crate::output::Output;
use crate::signals::{Signal, Signals};

/// How often the view is drawn.
const FRAME: Duration = Duration::from_millis(200);

/// Runs the view until `sessionComplete`, `q`, Ctrl-C or a signal (all exit 0), or the
/// client's error. `target` names where the client connects, until it has; `keys` are the
/// keys to show (every key when empty).
pub(crate) async fn run(
    mut events: EventStream,
    taps: &mut Taps,
    target: String,
    keys: Vec<String>,
    out: &mut Output,
) -> Result<(), CliError> {
    let mut signals = Some(Signals::new()?);
    let hold = LogHold::start();
    let mut screen = Screen::open()?;
    let mut presses = crossterm::event::EventStream::new();
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut state = LiveState::new(target).only(keys);
    let ending: Result<Option<String>, CliError> = loop {
        tokio::select! {
            event = events.next() => match event {
                None => break Ok(None),
                Some(Ok(event)) => {
                    if let Err(e) = taps.event(&event) {
                        break Err(e);
                    }
                    state.on_event(&event, Instant::now());
                }
                Some(Err(e)) => {
                    taps.lost();
                    break Err(e.into());
                }
            },
            key = presses.next() => match key {
                Some(Ok(TerminalEvent::Key(key))) => {
                    if let Some(name) = quit_key(&key) {
                        break Ok(Some(name.to_string()));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Err(CliError::local(format!("cannot read the keyboard: {e}"))),
                None => {}
            },
            signal = Signals::next_of(&mut signals) => {
                let name = match signal {
                    Signal::Stop(name) => name,
                    Signal::Reload => "SIGHUP",
                };
                break Ok(Some(name.to_string()));
            }
            _ = frames.tick() => {
                let notice = hold.latest();
                let drawn = screen
                    .terminal
                    .draw(|frame| view::draw(frame, &state, Instant::now(), notice.as_deref()));
                if let Err(e) = drawn {
                    break Err(CliError::local(format!("cannot draw on the terminal: {e}")));
                }
                if let Err(e) = taps.flush() {
                    break Err(e);
                }
            }
        }
    };
    drop(screen);
    drop(hold);
    let how = match (&ending, &state.link) {
        (Err(_), _) => return ending.map(|_| ()),
        (Ok(Some(stopped_by)), _) => {
            tracing::warn!("stopped by {stopped_by} before sessionComplete");
            format!("stopped by {stopped_by}")
        }
        (Ok(None), Link::Complete) => "session complete".to_string(),
        (Ok(None), _) => "stream ended".to_string(),
    };
    out.text_line(format_args!(
        "{} messages from {} ({} keys): {how}",
        state.messages,
        state.server,
        state.keys.len()
    ))
}
