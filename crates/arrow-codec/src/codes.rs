//! Numeric codes that name things on the wire: ACK/HUP error codes and service types. Both
//! keep values this crate does not know, so nothing a peer sends is lost.

use std::fmt;

/// Declares a code enum with its known values, an `Other` variant for the rest,
/// conversions both ways, a wire name, and serde as the name (or the number when unknown).
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident($repr:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know, kept as received. Build values with
            #[doc = concat!("`", stringify!($name), "::from(", stringify!($repr), ")`")]
            /// so a known value never lands here.
            Other($repr),
        }

        impl $name {
            /// The name the spec gives the value (`None` for [`Other`](Self::Other)).
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some($text), )*
                    $name::Other(_) => None,
                }
            }

            /// The number on the wire.
            pub fn code(self) -> $repr {
                <$repr>::from(self)
            }

            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $text => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Other(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )*
                    $name::Other(other) => other,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{:#x}", <$repr>::from(*self)),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.name() {
                    Some(name) => s.serialize_str(name),
                    None => serde::Serialize::serialize(&<$repr>::from(*self), s),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum NameOrNumber {
                    Name(String),
                    Number($repr),
                }
                match NameOrNumber::deserialize(d)? {
                    NameOrNumber::Number(n) => Ok($name::from(n)),
                    NameOrNumber::Name(text) => $name::from_name(&text).ok_or_else(|| {
                        serde::de::Error::custom(format_args!(
                            concat!("unknown ", stringify!($name), " name {:?}"),
                            text
                        ))
                    }),
                }
            }
        }
    };
}

code_enum! {
    /// The error code of ACK and HUP messages.
    ErrorCode(u32) {
        /// `0x00000000`: OK.
        NoError = 0x0000_0000, "NO_ERROR";
        /// `0x00000001`: unsupported version of the Arrow protocol.
        UnsupportedProtocolVersion = 0x0000_0001, "UNSUPPORTED_PROTOCOL_VERSION";
        /// `0x00000002`: access denied (client is not registered).
        Unauthorized = 0x0000_0002, "UNAUTHORIZED";
        /// `0x00000003`: cannot connect to a given service.
        ConnectionError = 0x0000_0003, "CONNECTION_ERROR";
        /// `0x00000004`: unsupported method (the answer to an unknown control type).
        UnsupportedMethod = 0x0000_0004, "UNSUPPORTED_METHOD";
        /// `0xffffffff`: internal server error.
        InternalServerError = 0xffff_ffff, "INTERNAL_SERVER_ERROR";
    }
}

code_enum! {
    /// The type of a service in a service table.
    ServiceType(u16) {
        /// `0x0000`: the Arrow Control Protocol pseudo service (only in the terminator).
        ControlProtocol = 0x0000, "CONTROL_PROTOCOL";
        /// `0x0001`: RTSP service.
        Rtsp = 0x0001, "RTSP";
        /// `0x0002`: locked RTSP service, path and credentials unknown.
        LockedRtsp = 0x0002, "LOCKED_RTSP";
        /// `0x0003`: RTSP service with unknown path.
        UnknownRtsp = 0x0003, "UNKNOWN_RTSP";
        /// `0x0004`: RTSP service with known path but no supported video stream.
        UnsupportedRtsp = 0x0004, "UNSUPPORTED_RTSP";
        /// `0x0005`: HTTP service.
        Http = 0x0005, "HTTP";
        /// `0x0006`: HTTP service with a Motion JPEG endpoint.
        Mjpeg = 0x0006, "MJPEG";
        /// `0x0007`: locked HTTP service believed to have a Motion JPEG endpoint.
        LockedMjpeg = 0x0007, "LOCKED_MJPEG";
        /// `0xffff`: plain TCP service (manual forwarding).
        Tcp = 0xffff, "TCP";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_map_to_variants_and_back() {
        for (code, want) in [
            (0, ErrorCode::NoError),
            (1, ErrorCode::UnsupportedProtocolVersion),
            (2, ErrorCode::Unauthorized),
            (3, ErrorCode::ConnectionError),
            (4, ErrorCode::UnsupportedMethod),
            (0xffff_ffff, ErrorCode::InternalServerError),
        ] {
            assert_eq!(ErrorCode::from(code), want);
            assert_eq!(u32::from(want), code);
        }
    }

    #[test]
    fn unknown_codes_are_kept() {
        assert_eq!(ErrorCode::from(7), ErrorCode::Other(7));
        assert_eq!(ErrorCode::Other(7).code(), 7);
        assert_eq!(ServiceType::from(0x42), ServiceType::Other(0x42));
        assert_eq!(ServiceType::Other(0x42).to_string(), "0x42");
    }

    #[test]
    fn service_types_cover_the_spec_table() {
        let table = [
            (0x0000, "CONTROL_PROTOCOL"),
            (0x0001, "RTSP"),
            (0x0002, "LOCKED_RTSP"),
            (0x0003, "UNKNOWN_RTSP"),
            (0x0004, "UNSUPPORTED_RTSP"),
            (0x0005, "HTTP"),
            (0x0006, "MJPEG"),
            (0x0007, "LOCKED_MJPEG"),
            (0xffff, "TCP"),
        ];
        for (code, name) in table {
            assert_eq!(ServiceType::from(code).name(), Some(name));
        }
    }
}
