//! Reading the input of `arrow decode` and `arrow encode`: a file or stdin, raw or hex.

use std::io::Read;
use std::path::Path;

use crate::exit::CliError;

pub(super) fn open(path: &Path) -> Result<Box<dyn Read>, CliError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    std::fs::File::open(path)
        .map(|f| Box::new(f) as Box<dyn Read>)
        .map_err(|e| CliError::local(format!("cannot open {}: {e}", path.display())))
}

pub(super) fn read_all(path: &Path) -> Result<Vec<u8>, CliError> {
    let mut data = Vec::new();
    open(path)?
        .read_to_end(&mut data)
        .map_err(|e| CliError::local(format!("cannot read {}: {e}", path.display())))?;
    Ok(data)
}

/// Hex text to bytes; whitespace is ignored.
pub(super) fn unhex(text: &[u8], path: &Path) -> Result<Vec<u8>, CliError> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    hex::decode(&digits).map_err(|e| CliError::local(format!("{} is not hex: {e}", path.display())))
}
