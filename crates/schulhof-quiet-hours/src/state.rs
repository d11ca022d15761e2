//! The sixteen German federal states (Länder): their public holidays differ, and so do their
//! school holidays.

use serde::{Deserialize, Serialize};

/// A German federal state, written as its two-letter code (`"BB"` for Brandenburg) in the
/// configuration and the holiday files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum State {
    /// Baden-Württemberg.
    BW,
    /// Bayern.
    BY,
    /// Berlin.
    BE,
    /// Brandenburg.
    BB,
    /// Bremen.
    HB,
    /// Hamburg.
    HH,
    /// Hessen.
    HE,
    /// Mecklenburg-Vorpommern.
    MV,
    /// Niedersachsen.
    NI,
    /// Nordrhein-Westfalen.
    NW,
    /// Rheinland-Pfalz.
    RP,
    /// Saarland.
    SL,
    /// Sachsen.
    SN,
    /// Sachsen-Anhalt.
    ST,
    /// Schleswig-Holstein.
    SH,
    /// Thüringen.
    TH,
}

impl State {
    /// All sixteen states, in the order of their codes' declaration.
    pub const ALL: [State; 16] = [
        State::BW,
        State::BY,
        State::BE,
        State::BB,
        State::HB,
        State::HH,
        State::HE,
        State::MV,
        State::NI,
        State::NW,
        State::RP,
        State::SL,
        State::SN,
        State::ST,
        State::SH,
        State::TH,
    ];

    /// The two-letter code (`BB`).
    pub fn code(self) -> &'static str {
        match self {
            State::BW => "BW",
            State::BY => "BY",
            State::BE => "BE",
            State::BB => "BB",
            State::HB => "HB",
            State::HH => "HH",
            State::HE => "HE",
            State::MV => "MV",
            State::NI => "NI",
            State::NW => "NW",
            State::RP => "RP",
            State::SL => "SL",
            State::SN => "SN",
            State::ST => "ST",
            State::SH => "SH",
            State::TH => "TH",
        }
    }

    /// The German name (`Brandenburg`).
    pub fn name(self) -> &'static str {
        match self {
            State::BW => "Baden-Württemberg",
            State::BY => "Bayern",
            State::BE => "Berlin",
            State::BB => "Brandenburg",
            State::HB => "Bremen",
            State::HH => "Hamburg",
            State::HE => "Hessen",
            State::MV => "Mecklenburg-Vorpommern",
            State::NI => "Niedersachsen",
            State::NW => "Nordrhein-Westfalen",
            State::RP => "Rheinland-Pfalz",
            State::SL => "Saarland",
            State::SN => "Sachsen",
            State::ST => "Sachsen-Anhalt",
            State::SH => "Schleswig-Holstein",
            State::TH => "Thüringen",
        }
    }

    /// The state with this code, in any letter case (`bb` in a holiday file's name).
    pub fn from_code(code: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|state| state.code().eq_ignore_ascii_case(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_in_any_case() {
        for state in State::ALL {
            assert_eq!(State::from_code(state.code()), Some(state));
            assert_eq!(State::from_code(&state.code().to_lowercase()), Some(state));
        }
        assert_eq!(State::from_code("XX"), None);
        assert_eq!(State::BB.name(), "Brandenburg");
    }
}
