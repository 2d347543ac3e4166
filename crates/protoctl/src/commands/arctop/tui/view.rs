//! Draws the live state into a ratatui frame: a header with the server, the stream,
//! headband and QA states and the message rate; one sparkline per key with its latest
//! value; a footer with the keys that end the view and the latest log line.
//!
//! ```text
//! ┌ Arctop live ───────────────────────────────────────────────────────────┐
//! │server 127.0.0.1:7000   stream: streaming   10.0 msg/s   1234 messages  │
//! │headband: CONNECTED   QA: passed                                        │
//! └────────────────────────────────────────────────────────────────────────┘
//! ┌ focus 52.31  score 0-100, 50 neutral ──────────────────────────────────┐
//! │▅▅▆▆▅▄▄▅▆▇▆▅▅▄▄▃▄▅▅▅▆▆▅▅▄▄▅▆▆▇▇▆▅▅▄▄▄▅▆▆▅▅▄▄                          │
//! └────────────────────────────────────────────────────────────────────────┘
//! q or Ctrl-C: quit
//! ```

use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};

use super::state::{KeyTrack, Link, LiveState, MAX_KEYS};
use arctop::message::ConnectionState;

/// The most rows of one key's panel: borders and six rows of sparkline.
const KEY_ROWS: u16 = 8;
/// The fewest rows a key's panel gets before keys are left out.
const MIN_KEY_ROWS: u16 = 3;

/// Draws the whole view. `notice` is the latest log line, if any.
pub(crate) fn draw(frame: &mut Frame<'_>, state: &LiveState, now: Instant, notice: Option<&str>) {
    let [header, keys, footer] = Layout::vertical([
        Constraint::Length(4),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(header_widget(state, now), header);
    draw_keys(frame, state, keys);
    let mut line = vec![Span::styled("q or Ctrl-C: quit", Style::new().bold())];
    if let Some(notice) = notice {
        line.push(Span::raw("  "));
        line.push(Span::styled(
            notice.to_string(),
            Style::new().fg(Color::Yellow),
        ));
    }
    frame.render_widget(Line::from(line), footer);
}

fn header_widget(state: &LiveState, now: Instant) -> Paragraph<'static> {
    let (link, link_color) = match &state.link {
        Link::Connecting => ("connecting".to_string(), Color::Yellow),
        Link::Streaming => ("streaming".to_string(), Color::Green),
        Link::Reconnecting { attempt, cause } => (
            format!("reconnecting (attempt {attempt}): {cause}"),
            Color::Red,
        ),
        Link::Complete => ("session complete".to_string(), Color::Blue),
    };
    let first = Line::from(vec![
        Span::raw("server "),
        Span::styled(state.server.clone(), Style::new().bold()),
        Span::raw("   stream: "),
        Span::styled(link, Style::new().fg(link_color)),
        Span::raw(format!(
            "   {:.1} msg/s   {} messages",
            state.messages_per_second(now),
            state.messages
        )),
    ]);
    let (headband, headband_color) = match state.headband {
        None => ("-".to_string(), Color::Gray),
        Some(s) => (
            s.to_string()
                .split(" (")
                .next()
                .unwrap_or_default()
                .to_string(),
            match s {
                ConnectionState::CONNECTED => Color::Green,
                ConnectionState::CONNECTING | ConnectionState::UNKNOWN => Color::Yellow,
                _ => Color::Red,
            },
        ),
    };
    let (qa, qa_color) = match state.qa {
        None => ("-".to_string(), Color::Gray),
        Some((true, _)) => ("passed".to_string(), Color::Green),
        Some((false, failure)) => (
            match failure.and_then(|f| f.name()) {
                Some(name) => format!("failed: {name}"),
                None => "failed".to_string(),
            },
            Color::Red,
        ),
    };
    let mut second = vec![
        Span::raw("headband: "),
        Span::styled(headband, Style::new().fg(headband_color)),
        Span::raw("   QA: "),
        Span::styled(qa, Style::new().fg(qa_color)),
    ];
    if let Some(error) = &state.error {
        second.push(Span::raw("   error: "));
        second.push(Span::styled(error.clone(), Style::new().fg(Color::Red)));
    }
    if state.skipped > 0 {
        second.push(Span::raw(format!("   skipped frames: {}", state.skipped)));
    }
    Paragraph::new(vec![first, Line::from(second)])
        .block(Block::bordered().title(Span::styled(" Arctop live ", Style::new().bold())))
}

fn draw_keys(frame: &mut Frame<'_>, state: &LiveState, area: Rect) {
    if state.keys.is_empty() {
        let waiting = Paragraph::new("waiting for values ...").block(Block::bordered());
        frame.render_widget(waiting, area);
        return;
    }
    let count = u16::try_from(state.keys.len()).unwrap_or(u16::MAX);
    let rows = (area.height / count).clamp(MIN_KEY_ROWS, KEY_ROWS);
    let shown = usize::from((area.height / rows).min(count));
    let hidden = state.keys.len() - shown;
    let mut notes = Vec::new();
    if hidden > 0 {
        notes.push(format!("+{hidden} more keys: enlarge the terminal"));
    }
    if state.untracked > 0 {
        notes.push(format!(
            "{} values of keys beyond the first {MAX_KEYS} not shown",
            state.untracked
        ));
    }
    let footer = (!notes.is_empty()).then(|| format!(" {} ", notes.join("; ")));
    let areas = Layout::vertical(vec![Constraint::Length(rows); shown]).split(area);
    for (index, (track, area)) in state.keys.iter().zip(areas.iter()).enumerate() {
        let footer = if index + 1 == shown {
            footer.as_deref()
        } else {
            None
        };
        draw_key(frame, track, *area, footer);
    }
}

fn draw_key(frame: &mut Frame<'_>, track: &KeyTrack, area: Rect, footer: Option<&str>) {
    let latest = track.latest.to_string();
    let mut title = vec![
        Span::raw(" "),
        Span::styled(track.key.to_string(), Style::new().bold()),
        Span::raw(" "),
        Span::styled(
            latest,
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        ),
    ];
    if track.latest.is_low_confidence() {
        title.push(Span::styled(
            " (low confidence)",
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(scale) = track.key.scale() {
        title.push(Span::styled(
            format!("  {}", scale.describe()),
            Style::new().fg(Color::Gray),
        ));
    }
    title.push(Span::raw(" "));
    let mut block = Block::bordered().title(Line::from(title));
    if let Some(footer) = footer {
        block = block.title_bottom(footer.to_string());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (lo, hi) = track.range();
    let span = if hi > lo { hi - lo } else { 1.0 };
    let width = usize::from(inner.width);
    let skip = track.history.len().saturating_sub(width);
    let bars: Vec<Option<u64>> = track
        .history
        .iter()
        .skip(skip)
        // 1..=100: the lowest value still shows a sliver, an absent one shows a dot.
        .map(|x| x.map(|x| 1 + (((x - lo) / span).clamp(0.0, 1.0) * 99.0).round() as u64))
        .collect();
    let sparkline = Sparkline::default()
        .data(bars)
        .max(100)
        .style(Style::new().fg(Color::Cyan))
        .absent_value_symbol("·")
        .absent_value_style(Style::new().fg(Color::Yellow));
    frame.render_widget(sparkline, inner);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use arctop::{Event, Message};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    fn message(text: &str) -> Event {
        Event::Message(Message::parse(text.as_bytes()).unwrap())
    }

    /// The screen as lines of text.
    fn screen(state: &LiveState, width: u16, height: u16, notice: Option<&str>) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let now = Instant::now();
        terminal
            .draw(|frame| draw(frame, state, now, notice))
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect()
    }

    fn session() -> LiveState {
        let mut state = LiveState::new("127.0.0.1:7000");
        let t0 = Instant::now();
        let mut events = vec![
            Event::Connected {
                addr: "127.0.0.1:7000".parse().unwrap(),
                server: Some(arctop::Server::new(
                    "ArctopService",
                    "phone.local.",
                    vec![],
                    7000,
                )),
            },
            message(r#"{"command":"connection","previous":1,"current":2}"#),
            message(r#"{"command":"qa","passed":false,"type":2}"#),
        ];
        for i in 0..30 {
            for (key, value) in [
                ("focus", 40 + i),
                ("enjoyment", 60 - i),
                ("zone_state", 50),
                ("heart_rate", 70 + i % 3),
                ("avg_motion", 1 + i % 3),
            ] {
                events.push(message(&format!(
                    r#"{{"command":"valueChange","key":"{key}","value":{value}}}"#
                )));
            }
        }
        events.push(message(
            r#"{"command":"valueChange","key":"focus","value":-1}"#,
        ));
        for (i, event) in events.iter().enumerate() {
            state.on_event(event, t0 + Duration::from_millis(10 * i as u64));
        }
        state
    }

    #[test]
    fn a_frame_shows_every_key_and_the_states() {
        let lines = screen(&session(), 100, 30, Some("WARN skipped a frame"));
        let text = lines.join("\n");
        for needle in [
            "Arctop live",
            "server 127.0.0.1:7000 (ArctopService)",
            "stream: streaming",
            "msg/s",
            "153 messages",
            "headband: CONNECTED",
            "QA: failed: MOTION_TOO_HIGH",
            " focus -1 (low confidence)  score 0-100, 50 neutral",
            " enjoyment 31  score 0-100, 50 neutral",
            " zone_state 50 ",
            " heart_rate 72  bpm",
            " avg_motion 3  level 1-4",
            "q or Ctrl-C: quit  WARN skipped a frame",
        ] {
            assert!(text.contains(needle), "{needle:?} not on screen:\n{text}");
        }
        // The focus sparkline: rising bars, then the low-confidence value as a dot.
        let focus = lines.iter().position(|l| l.contains(" focus ")).unwrap();
        let bars = &lines[focus + 2];
        assert!(bars.contains("█·"), "{bars}");
    }

    #[test]
    fn a_small_terminal_says_how_many_keys_it_leaves_out() {
        let text = screen(&session(), 80, 14, None).join("\n");
        assert!(text.contains(" focus "), "{text}");
        assert!(
            text.contains("+2 more keys: enlarge the terminal"),
            "{text}"
        );
    }

    #[test]
    fn values_of_keys_beyond_the_tracked_ones_are_counted_on_screen() {
        let mut state = LiveState::new("x");
        for i in 0..MAX_KEYS + 3 {
            let text = format!(r#"{{"command":"valueChange","key":"k{i}","value":1}}"#);
            state.on_event(&message(&text), Instant::now());
        }
        let text = screen(&state, 120, 30, None).join("\n");
        assert!(
            text.contains(&format!(
                "3 values of keys beyond the first {MAX_KEYS} not shown"
            )),
            "{text}"
        );
    }

    #[test]
    fn the_link_state_is_named() {
        let mut state = LiveState::new("mDNS");
        let text = screen(&state, 100, 12, None).join("\n");
        assert!(text.contains("server mDNS   stream: connecting"), "{text}");
        assert!(text.contains("waiting for values"), "{text}");
        state.on_event(&message(r#"{"command":"sessionComplete"}"#), Instant::now());
        let text = screen(&state, 100, 12, None).join("\n");
        assert!(text.contains("stream: session complete"), "{text}");
    }
}
