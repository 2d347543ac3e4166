//! The outlets of a session: fed the client's events, it opens an outlet per value key as
//! the key first appears and pushes each value and marker with its mapped timestamp.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use labstream::{Channel, Format, Outlet, StreamInfo};

use super::clock_map::ClockMap;
use super::streams::{self, SampleFormat, StreamSpec};
use crate::discovery::Server;
use crate::message::{Message, Received};

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LslError {
    /// An outlet could not be opened (no socket could be bound, say).
    #[error("cannot open the LSL outlet {name}: {source}")]
    Open {
        /// The stream's name.
        name: String,
        /// What the LSL library said.
        source: labstream::Error,
    },
    /// A value of a key had another number of elements than the key's first value, which
    /// fixed the outlet's channel count; the value is not published.
    #[error("{key}: a value of {got} numbers does not fit its LSL outlet of {channels} channels")]
    Width {
        /// The key.
        key: String,
        /// The outlet's channels.
        channels: usize,
        /// The value's numbers.
        got: usize,
    },
    /// A key's values are not published: the key would need more than
    /// [`MAX_VALUE_OUTLETS`] outlets, or its outlet could not be opened (LSL's port range is
    /// shared by every outlet on the machine). Said once per key; the session goes on.
    #[error("{key}: not published to LSL: {reason}")]
    KeyNotPublished {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// Pushing a sample failed.
    #[error("cannot push to the LSL outlet {name}: {source}")]
    Push {
        /// The stream's name.
        name: String,
        /// What the LSL library said.
        source: labstream::Error,
    },
}

impl LslError {
    /// True when the session can go on without this sample (a misfit value, a key left
    /// unpublished); false when publishing is broken.
    pub fn is_sample_dropped(&self) -> bool {
        matches!(
            self,
            LslError::Width { .. } | LslError::KeyNotPublished { .. }
        )
    }
}

/// What a call published, for the caller to log.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Published {
    /// Streams opened by this call (the first value of a key; the marker stream at the
    /// first connection).
    pub opened: Vec<StreamSpec>,
    /// The marker pushed, if any.
    pub marker: Option<String>,
}

/// The most value keys published, each its own outlet. LSL binds every outlet's ports in
/// one range of 32 shared by all LSL programs on the machine (the EEG amplifier's, the eye
/// tracker's ...), and a labstream outlet takes two of them (IPv4 and IPv6): an open key set
/// must not take them all. Arctop's known keys are five.
pub const MAX_VALUE_OUTLETS: usize = 8;

struct ValueOutlet {
    outlet: Outlet,
    channels: usize,
}

/// The LSL side of one `listen`: every value key its own outlet (`Arctop-<key>`, type
/// `Arctop`, float32, irregular rate), and one marker outlet (`Arctop-Markers`, type
/// `Markers`). Outlets stay open until the publisher is dropped, across reconnects.
///
/// ```no_run
/// # use futures::StreamExt;
/// # async fn run(mut events: arctop::EventStream) -> Result<(), Box<dyn std::error::Error>> {
/// let mut lsl = arctop::lsl::Publisher::new();
/// while let Some(event) = events.next().await {
///     match event? {
///         arctop::Event::Connected { addr, server } => { lsl.connected(addr, server.as_ref())?; }
///         arctop::Event::Message(received) => { lsl.message(&received)?; }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Publisher {
    source: Option<String>,
    clock: ClockMap,
    values: HashMap<String, ValueOutlet>,
    /// Keys whose values are not published (said once).
    unpublished: HashSet<String>,
    markers: Option<Outlet>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("source", &self.source)
            .field("clock", &self.clock)
            .field("values", &self.values.keys().collect::<Vec<_>>())
            .field("markers", &self.markers.is_some())
            .finish()
    }
}

impl Publisher {
    /// A publisher with no outlet yet: nothing is on the network until
    /// [`connected`](Self::connected).
    pub fn new() -> Self {
        Publisher::default()
    }

    /// The client authenticated with a server. The first call names the source (kept
    /// across reconnects) and opens the marker outlet; each call starts the clock mapping
    /// over and pushes the `stream:connected` marker.
    pub fn connected(
        &mut self,
        addr: SocketAddr,
        server: Option<&Server>,
    ) -> Result<Published, LslError> {
        let source = self
            .source
            .get_or_insert_with(|| streams::source_label(addr, server))
            .clone();
        let mut published = Published::default();
        if self.markers.is_none() {
            let spec = streams::marker_stream(&source);
            self.markers = Some(open(&spec)?);
            published.opened.push(spec);
        }
        self.clock.reset();
        let now = labstream::clock();
        self.push_marker(streams::STREAM_CONNECTED, now)?;
        published.marker = Some(streams::STREAM_CONNECTED.to_string());
        Ok(published)
    }

    /// The connection was lost before `sessionComplete`: the `stream:lost` marker.
    pub fn lost(&mut self) -> Result<Published, LslError> {
        self.push_marker(streams::STREAM_LOST, labstream::clock())?;
        Ok(Published {
            opened: Vec::new(),
            marker: Some(streams::STREAM_LOST.to_string()),
        })
    }

    /// A stream message: a value goes to its key's outlet (opened now if it is the key's
    /// first), connection, QA, error and end of session to the markers.
    pub fn message(&mut self, received: &Received) -> Result<Published, LslError> {
        let now = labstream::clock();
        let stamp = self.clock.stamp(received.message.timestamp(), now);
        let mut published = Published::default();
        if let Message::ValueChange { key, value, .. } = &received.message {
            let numbers = value.values();
            let source = self
                .source
                .clone()
                .unwrap_or_else(|| "unknown-server".to_string());
            if self.unpublished.contains(key.as_str()) {
                return Ok(published);
            }
            if !self.values.contains_key(key.as_str()) {
                let refuse = |reason: String| LslError::KeyNotPublished {
                    key: key.to_string(),
                    reason,
                };
                let spec = streams::value_stream(key, numbers.len(), &source);
                let opened = if self.values.len() >= MAX_VALUE_OUTLETS {
                    Err(refuse(format!(
                        "{MAX_VALUE_OUTLETS} keys have outlets already"
                    )))
                } else {
                    open(&spec).map_err(|e| refuse(e.to_string()))
                };
                let outlet = match opened {
                    Ok(outlet) => outlet,
                    Err(e) => {
                        self.unpublished.insert(key.as_str().to_string());
                        return Err(e);
                    }
                };
                self.values.insert(
                    key.as_str().to_string(),
                    ValueOutlet {
                        outlet,
                        channels: numbers.len(),
                    },
                );
                published.opened.push(spec);
            }
            let Some(target) = self.values.get(key.as_str()) else {
                return Ok(published);
            };
            if numbers.len() != target.channels {
                return Err(LslError::Width {
                    key: key.to_string(),
                    channels: target.channels,
                    got: numbers.len(),
                });
            }
            // LSL float32: the precision of the app's values (two decimals).
            let sample: Vec<f32> = numbers.iter().map(|&x| x as f32).collect();
            target
                .outlet
                .push_at(&sample, stamp)
                .map_err(|source| LslError::Push {
                    name: format!("{}-{key}", streams::NAME_PREFIX),
                    source,
                })?;
        } else if let Some(marker) = streams::marker_text(&received.message) {
            self.push_marker(&marker, stamp)?;
            published.marker = Some(marker);
        }
        Ok(published)
    }

    /// How many inlets read the outlets now, added up.
    pub fn consumers(&self) -> usize {
        let values: usize = self
            .values
            .values()
            .map(|v| v.outlet.consumer_count())
            .sum();
        values + self.markers.as_ref().map_or(0, Outlet::consumer_count)
    }

    fn push_marker(&self, marker: &str, stamp: f64) -> Result<(), LslError> {
        let Some(outlet) = &self.markers else {
            return Ok(()); // not connected yet: nothing to mark
        };
        outlet
            .push_text_at(marker, stamp)
            .map_err(|source| LslError::Push {
                name: streams::MARKER_NAME.to_string(),
                source,
            })
    }
}

/// Opens the outlet of a stream.
fn open(spec: &StreamSpec) -> Result<Outlet, LslError> {
    let format = match spec.format {
        SampleFormat::Float32 => Format::Float32,
        SampleFormat::Text => Format::String,
    };
    let channels = spec
        .channels
        .iter()
        .map(|c| Channel::new(&c.label).unit(&c.unit).kind(&c.kind));
    let open_error = |source| LslError::Open {
        name: spec.name.clone(),
        source,
    };
    let info = StreamInfo::builder(&spec.name, &spec.stream_type, format)
        .irregular()
        .source_id(&spec.source_id)
        .channels(channels)
        .build()
        .map_err(open_error)?;
    Outlet::new(info).map_err(open_error)
}
