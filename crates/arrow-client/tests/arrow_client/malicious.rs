//! A scripted malicious service.
