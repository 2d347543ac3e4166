//! nom plumbing shared by the body parsers: the internal error type, field naming, the
//! run-to-completion driver, and the small pieces every family uses (NUL-terminated
//! strings, MAC and IP addresses). Nothing here is public: callers see [`DecodeError`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nom::error::{ErrorKind, ParseError};
use nom::number::complete::{be_u8, be_u16};
use nom::{IResult, Parser};

use crate::error::DecodeError;
use crate::mac::MacAddr;

/// The result of an internal parser over a complete (delimited) body.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, PErr<'a>>;

/// An internal parse failure: where it happened, what went wrong, in which field.
#[derive(Debug)]
pub(crate) struct PErr<'a> {
    /// The input left at the start of the failing field.
    at: &'a [u8],
    kind: PKind,
    field: Option<&'static str>,
}

#[derive(Debug)]
pub(crate) enum PKind {
    /// The input ended inside a field (nom's own failures, all of them end-of-input here).
    Truncated,
    MissingNul,
    NotUtf8,
    BadIpVersion(u8),
    MissingTerminator,
    CountOverrun {
        count: u32,
        min_each: usize,
        remaining: usize,
    },
}

impl<'a> PErr<'a> {
    pub(crate) fn new(at: &'a [u8], kind: PKind) -> Self {
        PErr {
            at,
            kind,
            field: None,
        }
    }

    pub(crate) fn fail<T>(at: &'a [u8], kind: PKind) -> PResult<'a, T> {
        Err(nom::Err::Error(PErr::new(at, kind)))
    }

    /// Turns the failure into the public error. `data` is the slice the top parser ran
    /// on and `base` its offset from the start of the message.
    fn into_decode(self, message: &'static str, data: &[u8], base: usize) -> DecodeError {
        let offset = base + data.len().saturating_sub(self.at.len());
        let field = self.field.unwrap_or("data");
        match self.kind {
            PKind::Truncated => DecodeError::Truncated {
                message,
                field,
                offset,
            },
            PKind::MissingNul => DecodeError::MissingNul {
                message,
                field,
                offset,
            },
            PKind::NotUtf8 => DecodeError::NotUtf8 {
                message,
                field,
                offset,
            },
            PKind::BadIpVersion(version) => DecodeError::BadIpVersion {
                message,
                version,
                offset,
            },
            PKind::MissingTerminator => DecodeError::MissingTerminator { message, offset },
            PKind::CountOverrun {
                count,
                min_each,
                remaining,
            } => DecodeError::CountOverrun {
                message,
                field,
                count,
                remaining,
                min_each,
                offset,
            },
        }
    }
}

impl<'a> ParseError<&'a [u8]> for PErr<'a> {
    fn from_error_kind(input: &'a [u8], _kind: ErrorKind) -> Self {
        PErr::new(input, PKind::Truncated)
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

/// Names the field a parser reads: an error inside it without a field name gets this one,
/// and points at the field's first byte.
pub(crate) fn field<'a, O, P>(
    name: &'static str,
    mut parser: P,
) -> impl FnMut(&'a [u8]) -> PResult<'a, O>
where
    P: Parser<&'a [u8], Output = O, Error = PErr<'a>>,
{
    move |input: &'a [u8]| {
        parser.parse(input).map_err(|e| {
            e.map(|mut e| {
                if e.field.is_none() {
                    e.field = Some(name);
                    if matches!(e.kind, PKind::Truncated) {
                        e.at = input;
                    }
                }
                e
            })
        })
    }
}

/// Runs `parser` over the whole of `data`, which must be consumed exactly.
pub(crate) fn run_complete<'a, T>(
    message: &'static str,
    data: &'a [u8],
    base: usize,
    mut parser: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> Result<T, DecodeError> {
    match parser(data) {
        Ok(([], value)) => Ok(value),
        Ok((rest, _)) => Err(DecodeError::TrailingBytes {
            message,
            offset: base + data.len() - rest.len(),
            extra: rest.len(),
        }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e.into_decode(message, data, base)),
        // Complete parsers never ask for more; treat it as a cut body all the same.
        Err(nom::Err::Incomplete(_)) => Err(DecodeError::Truncated {
            message,
            field: "data",
            offset: base + data.len(),
        }),
    }
}

/// Checks a fixed-size message's data length before parsing it.
pub(crate) fn expect_len(
    message: &'static str,
    data: &[u8],
    expected: usize,
) -> Result<(), DecodeError> {
    if data.len() == expected {
        Ok(())
    } else {
        Err(DecodeError::WrongLength {
            message,
            expected,
            actual: data.len(),
        })
    }
}

/// A NUL-terminated UTF-8 string; the NUL is consumed, not returned.
pub(crate) fn cstring<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, &'a str> {
    move |input: &'a [u8]| {
        let Some(nul) = input.iter().position(|&b| b == 0) else {
            return Err(nom::Err::Error(PErr {
                at: input,
                kind: PKind::MissingNul,
                field: Some(name),
            }));
        };
        match std::str::from_utf8(&input[..nul]) {
            Ok(text) => Ok((&input[nul + 1..], text)),
            Err(_) => Err(nom::Err::Error(PErr {
                at: input,
                kind: PKind::NotUtf8,
                field: Some(name),
            })),
        }
    }
}

/// A NUL-terminated string whose content is ignored (the terminator record's path).
pub(crate) fn skip_cstring<'a>(name: &'static str) -> impl FnMut(&'a [u8]) -> PResult<'a, ()> {
    move |input: &'a [u8]| match input.iter().position(|&b| b == 0) {
        Some(nul) => Ok((&input[nul + 1..], ())),
        None => Err(nom::Err::Error(PErr {
            at: input,
            kind: PKind::MissingNul,
            field: Some(name),
        })),
    }
}

/// A fixed-size byte array.
pub(crate) fn array<'a, const N: usize>(input: &'a [u8]) -> PResult<'a, [u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((head, rest)) => Ok((rest, *head)),
        None => PErr::fail(input, PKind::Truncated),
    }
}

/// Six octets of MAC address.
pub(crate) fn mac_addr(input: &[u8]) -> PResult<'_, MacAddr> {
    field("mac_addr", array::<6>).map(MacAddr).parse(input)
}

/// `ip_version` (4 or 6) then 16 octets of left-aligned address.
pub(crate) fn ip_addr(input: &[u8]) -> PResult<'_, IpAddr> {
    let (rest, version) = field("ip_version", be_u8).parse(input)?;
    let (rest, octets) = field("ip_addr", array::<16>).parse(rest)?;
    match version {
        4 => {
            let [a, b, c, d, ..] = octets;
            Ok((rest, IpAddr::V4(Ipv4Addr::new(a, b, c, d))))
        }
        6 => Ok((rest, IpAddr::V6(Ipv6Addr::from(octets)))),
        other => Err(nom::Err::Error(PErr {
            at: input,
            kind: PKind::BadIpVersion(other),
            field: Some("ip_version"),
        })),
    }
}

/// A `u16` count of records that each take at least `min_each` bytes, checked against
/// the bytes left before anything is allocated.
pub(crate) fn count_u16<'a>(
    name: &'static str,
    min_each: usize,
) -> impl FnMut(&'a [u8]) -> PResult<'a, usize> {
    move |input: &'a [u8]| {
        let (rest, count) = field(name, be_u16).parse(input)?;
        check_count(input, rest, name, u32::from(count), min_each)
    }
}

/// A `u32` count, checked like [`count_u16`].
pub(crate) fn count_u32<'a>(
    name: &'static str,
    min_each: usize,
) -> impl FnMut(&'a [u8]) -> PResult<'a, usize> {
    move |input: &'a [u8]| {
        let (rest, count) = field(name, nom::number::complete::be_u32).parse(input)?;
        check_count(input, rest, name, count, min_each)
    }
}

fn check_count<'a>(
    input: &'a [u8],
    rest: &'a [u8],
    name: &'static str,
    count: u32,
    min_each: usize,
) -> PResult<'a, usize> {
    let fits = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(min_each))
        .is_some_and(|need| need <= rest.len());
    if fits {
        // `fits` implies the conversion succeeded.
        Ok((rest, count as usize))
    } else {
        Err(nom::Err::Error(PErr {
            at: input,
            kind: PKind::CountOverrun {
                count,
                min_each,
                remaining: rest.len(),
            },
            field: Some(name),
        }))
    }
}
