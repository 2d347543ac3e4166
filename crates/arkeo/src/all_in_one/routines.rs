//! The routine names the vendor documents (an instrument offers those it has: ask
//! `GetAvailableRoutines` for the exact list).

/// Current-voltage sweeps under light.
pub const JV: &str = "JV";
/// Current-voltage sweeps in the dark.
pub const DARK_JV: &str = "Dark JV";
/// External quantum efficiency against wavelength.
pub const IPCE: &str = "IPCE";
/// Photoluminescence spectra.
pub const LUMINESCENCE: &str = "Luminescence";
/// Four-point sheet resistance.
pub const RESISTIVITY: &str = "Resistivity";
/// Photo-induced charge extraction by linearly increasing voltage.
pub const PHOTO_CELIV: &str = "Photo-CELIV";
/// Time-correlated single photon counting.
pub const TCSPC: &str = "TCSPC";
/// Maximum power point tracking.
pub const MPPT: &str = "MPPT";
/// Impedance spectroscopy.
pub const IMPEDANCE: &str = "Impedance";
/// A check of the contacts.
pub const CONNECTION_TEST: &str = "Connection Test";
/// Transient photo-response.
pub const TPR: &str = "TPR";

/// Every routine the vendor documents, in the order the simulator lists them.
pub const ALL: [&str; 11] = [
    JV,
    DARK_JV,
    IPCE,
    LUMINESCENCE,
    RESISTIVITY,
    PHOTO_CELIV,
    TCSPC,
    MPPT,
    IMPEDANCE,
    CONNECTION_TEST,
    TPR,
];
