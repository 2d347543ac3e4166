//! The terminal while the live view owns it: raw mode and the alternate screen, given back
//! when the screen is dropped (and by ratatui's panic hook on a panic).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::DefaultTerminal;

use crate::exit::CliError;

/// The terminal in raw mode on the alternate screen.
pub(crate) struct Screen {
    pub(crate) terminal: DefaultTerminal,
}

impl Screen {
    /// Takes over the terminal on stdout.
    pub(crate) fn open() -> Result<Self, CliError> {
        let terminal = ratatui::try_init().map_err(|e| {
            ratatui::restore();
            CliError::local(format!("cannot take over the terminal: {e}"))
        })?;
        Ok(Screen { terminal })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// The name of a key that ends the view: `q`, and Ctrl-C (which raw mode delivers as a
/// key, not as SIGINT); `None` for any other key.
pub(crate) fn quit_key(key: &KeyEvent) -> Option<&'static str> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char('q' | 'Q') if !control => Some("q"),
        KeyCode::Char('c' | 'C') if control => Some("Ctrl-C"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_and_ctrl_c_quit_and_nothing_else_does() {
        let press = |code, modifiers| KeyEvent::new(code, modifiers);
        let cases = [
            (press(KeyCode::Char('q'), KeyModifiers::NONE), Some("q")),
            (press(KeyCode::Char('Q'), KeyModifiers::SHIFT), Some("q")),
            (
                press(KeyCode::Char('c'), KeyModifiers::CONTROL),
                Some("Ctrl-C"),
            ),
            (press(KeyCode::Char('c'), KeyModifiers::NONE), None),
            (press(KeyCode::Char('x'), KeyModifiers::NONE), None),
            (press(KeyCode::Esc, KeyModifiers::NONE), None),
            (press(KeyCode::Char('q'), KeyModifiers::CONTROL), None),
        ];
        for (key, quits) in cases {
            assert_eq!(quit_key(&key), quits, "{key:?}");
        }
        let mut released = press(KeyCode::Char('q'), KeyModifiers::NONE);
        released.kind = KeyEventKind::Release;
        assert_eq!(quit_key(&released), None);
    }
}
