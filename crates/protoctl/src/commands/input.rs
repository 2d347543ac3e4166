//! Reading a command's input: a file or stdin (`-`), raw bytes or hex text.

use std::io::Read;
use std::path::Path;

use crate::exit::CliError;

pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>, CliError> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    std::fs::File::open(path)
        .map(|f| Box::new(f) as Box<dyn Read>)
        .map_err(|e| CliError::local(format!("cannot open {}: {e}", path.display())))
}

pub(crate) fn read_all(path: &Path) -> Result<Vec<u8>, CliError> {
    let mut data = Vec::new();
    open(path)?
        .read_to_end(&mut data)
        .map_err(|e| CliError::local(format!("cannot read {}: {e}", path.display())))?;
    Ok(data)
}

/// Hex text to bytes; whitespace is ignored.
pub(crate) fn unhex(text: &[u8], path: &Path) -> Result<Vec<u8>, CliError> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    hex::decode(&digits).map_err(|e| CliError::local(format!("{} is not hex: {e}", path.display())))
}

/// The input as a byte stream: read lazily when raw, decoded whole first when `hex`.
pub(crate) fn open_bytes(path: &Path, hex: bool) -> Result<Box<dyn Read>, CliError> {
    if hex {
        let bytes = unhex(&read_all(path)?, path)?;
        Ok(Box::new(std::io::Cursor::new(bytes)))
    } else {
        open(path)
    }
}
