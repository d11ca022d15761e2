//! Access letters: what a new (or reset) account holder gets on paper: username, start code,
//! how long it is valid and where to log in for the first time. Rendered as a printable HTML
//! page (one letter per page) and as CSV for mail merge.
//!
//! Times are German local time (CET/CEST by the EU summer-time rule).

use std::fmt;

use ruma::OwnedUserId;
use schulhof_store::Tx;

use crate::config::Config;
use crate::service::identity::start_codes;
use crate::state::AppState;
use crate::web::html::escape;
use crate::Result;

/// One access letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLetter {
    /// The account.
    pub user_id: OwnedUserId,
    /// "Vorname Nachname".
    pub display_name: String,
    /// The one-time start code (6 digits).
    pub start_code: String,
    /// When the start code expires, ms since the epoch.
    pub valid_until_ms: i64,
}

/// Issues a new start code for `user_id` inside the caller's transaction (replacing any
/// earlier one) and returns the letter that carries it.
pub async fn issue(
    state: &AppState,
    tx: &mut Tx,
    user_id: OwnedUserId,
    display_name: String,
    now: i64,
) -> Result<AccessLetter> {
    let start_code = start_codes::issue(state, tx, &user_id, now).await?;
    Ok(AccessLetter {
        user_id,
        display_name,
        start_code,
        valid_until_ms: start_codes::expiry(state, now),
    })
}

/// The page where a user chooses a password with their start code.
pub fn first_login_url(config: &Config) -> String {
    format!(
        "{}/erstanmeldung",
        config.public_baseurl.trim_end_matches('/')
    )
}

/// The HTML page with one letter per printed page.
pub fn render_html(config: &Config, letters: &[AccessLetter]) -> String {
    let school = escape(&config.school_name);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"de\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Zugangsbriefe – {school}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    for letter in letters {
        html.push_str(&render_letter(config, letter));
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// Print styles: A4, one letter per page.
const STYLE: &str = "
body { font-family: system-ui, 'Segoe UI', Arial, sans-serif; font-size: 11pt; line-height: 1.45;
       color: #000; margin: 0; }
.brief { max-width: 17cm; margin: 0 auto; padding: 1.5cm 1cm; page-break-after: always;
         break-after: page; }
.brief:last-child { page-break-after: auto; break-after: auto; }
.schule { font-size: 10pt; text-transform: uppercase; letter-spacing: .08em; margin: 0; }
h1 { font-size: 18pt; margin: .3em 0 .8em; }
h2 { font-size: 12pt; margin: 1.2em 0 .3em; }
table.zugang { border-collapse: collapse; margin: 1em 0; }
table.zugang th { text-align: left; font-weight: normal; padding: .35em 1.5em .35em 0; }
table.zugang td { font-weight: bold; padding: .35em 0; }
.code { font-family: 'DejaVu Sans Mono', Consolas, monospace; font-size: 18pt; letter-spacing: .25em; }
.hinweis { border-top: 1px solid #000; margin-top: 1.5em; padding-top: .6em; font-size: 10pt; }
@page { size: A4; margin: 1.5cm; }
@media print { .brief { padding: 0; } }
";

/// One letter as an HTML section.
fn render_letter(config: &Config, letter: &AccessLetter) -> String {
    let url = escape(&first_login_url(config));
    let homeserver = escape(config.public_baseurl.trim_end_matches('/'));
    format!(
        "<section class=\"brief\">\n\
         <p class=\"schule\">{school}</p>\n\
         <h1>Dein Zugang zum Schul-Messenger</h1>\n\
         <p>Hallo {name},</p>\n\
         <p>für dich ist ein Konto im Messenger der Schule eingerichtet. Mit diesen Angaben \
         meldest du dich zum ersten Mal an:</p>\n\
         <table class=\"zugang\">\n\
         <tr><th scope=\"row\">Benutzername</th><td>{localpart}</td></tr>\n\
         <tr><th scope=\"row\">Startcode</th><td class=\"code\">{code}</td></tr>\n\
         <tr><th scope=\"row\">gültig bis</th><td>{until}</td></tr>\n\
         <tr><th scope=\"row\">Matrix-ID</th><td>{user_id}</td></tr>\n\
         </table>\n\
         <h2>1. Eigenes Passwort wählen</h2>\n\
         <p>Öffne im Browser (auch auf dem Handy) die Seite <strong>{url}</strong>. Gib deinen \
         Benutzernamen und den Startcode ein und wähle ein eigenes Passwort. Die Seite zeigt dir, \
         wie ein sicheres Passwort aussehen muss.</p>\n\
         <h2>2. Mit Element anmelden</h2>\n\
         <ol>\n\
         <li>Installiere die App <strong>Element</strong> (App Store oder Google Play) oder öffne \
         <strong>app.element.io</strong> im Browser.</li>\n\
         <li>Wähle „Anmelden“. Tippe beim Homeserver auf „Bearbeiten“ und gib \
         <strong>{homeserver}</strong> ein.</li>\n\
         <li>Melde dich mit deinem Benutzernamen <strong>{localpart}</strong> und deinem neuen \
         Passwort an.</li>\n\
         </ol>\n\
         <p class=\"hinweis\">Der Startcode gilt nur einmal und nur bis zum angegebenen Zeitpunkt. \
         Bewahre diesen Brief sicher auf und gib ihn nicht weiter. Hast du ihn verloren oder ist \
         der Startcode abgelaufen, wende dich an deine Lehrkraft oder an das Sekretariat.</p>\n\
         </section>\n",
        school = escape(&config.school_name),
        name = escape(&letter.display_name),
        localpart = escape(letter.user_id.localpart()),
        code = escape(&letter.start_code),
        until = german_time(letter.valid_until_ms),
        user_id = escape(letter.user_id.as_str()),
    )
}

/// The letters as CSV (`;`-separated, UTF-8 with BOM so that spreadsheet programs detect the
/// encoding), one row per letter.
pub fn render_csv(config: &Config, letters: &[AccessLetter]) -> String {
    let url = first_login_url(config);
    let mut csv =
        String::from("\u{feff}Benutzername;Name;Startcode;gültig bis;Anmeldung;Matrix-ID\r\n");
    for letter in letters {
        let until = german_time(letter.valid_until_ms).to_string();
        let fields = [
            letter.user_id.localpart(),
            &letter.display_name,
            &letter.start_code,
            &until,
            &url,
            letter.user_id.as_str(),
        ];
        let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        csv.push_str(&fields.join(";"));
        csv.push_str("\r\n");
    }
    csv
}

/// A CSV field, quoted if it contains a separator, quote or line break.
fn csv_field(value: &str) -> String {
    if value.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

/// A point in German local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GermanTime {
    /// Year.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute.
    pub minute: u32,
    /// Second.
    pub second: u32,
}

/// "14.03.2026, 13:05 Uhr".
impl fmt::Display for GermanTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}.{:02}.{}, {:02}:{:02} Uhr",
            self.day, self.month, self.year, self.hour, self.minute
        )
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// `ms` (since the epoch, UTC) in German local time: CEST (UTC+2) from the last Sunday of
/// March, 01:00 UTC, to the last Sunday of October, 01:00 UTC; CET (UTC+1) otherwise.
pub fn german_time(ms: i64) -> GermanTime {
    let (year, _, _) = civil_from_days(ms.div_euclid(DAY_MS));
    let summer_start = last_sunday(year, 3) * DAY_MS + HOUR_MS;
    let summer_end = last_sunday(year, 10) * DAY_MS + HOUR_MS;
    let offset = if (summer_start..summer_end).contains(&ms) {
        2 * HOUR_MS
    } else {
        HOUR_MS
    };
    let local = ms + offset;
    let (year, month, day) = civil_from_days(local.div_euclid(DAY_MS));
    let seconds = local.rem_euclid(DAY_MS) / 1000;
    GermanTime {
        year,
        month,
        day,
        hour: (seconds / 3600) as u32,
        minute: (seconds / 60 % 60) as u32,
        second: (seconds % 60) as u32,
    }
}

/// The day (since 1970-01-01) of the last Sunday of `month` (whose last day is the 31st:
/// March or October) in `year`.
fn last_sunday(year: i64, month: u32) -> i64 {
    let last = days_from_civil(year, month, 31);
    // 1970-01-01 was a Thursday: (days + 4) % 7 is the weekday with Sunday = 0.
    last - (last + 4).rem_euclid(7)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            r#"server_name = "schule.test"
listen = "127.0.0.1:8008"
database_url = "sqlite://x.db"
media_path = "m"
public_baseurl = "https://chat.schule.test/"
school_name = "Gymnasium <Am See>"
"#,
        )
        .unwrap()
    }

    fn letter(localpart: &str, name: &str) -> AccessLetter {
        AccessLetter {
            user_id: format!("@{localpart}:schule.test").try_into().unwrap(),
            display_name: name.to_owned(),
            start_code: "012345".to_owned(),
            // 2026-03-14 12:05 UTC = 13:05 CET.
            valid_until_ms: 1_773_489_900_000,
        }
    }

    #[test]
    fn german_time_follows_summer_time() {
        // 2026-03-29 00:59:59 UTC: still CET; 01:00 UTC: CEST.
        let before = german_time(1_774_745_999_000);
        assert_eq!((before.day, before.hour, before.minute), (29, 1, 59));
        let after = german_time(1_774_746_000_000);
        assert_eq!((after.day, after.hour), (29, 3));
        // 2026-10-25 00:59 UTC = 02:59 CEST; 01:00 UTC = 02:00 CET.
        assert_eq!(german_time(1_792_889_940_000).hour, 2);
        assert_eq!(german_time(1_792_890_000_000).hour, 2);
        assert_eq!(
            german_time(1_773_489_900_000).to_string(),
            "14.03.2026, 13:05 Uhr"
        );
        // New Year's Eve 23:30 UTC is already the next year in Germany.
        let new_year = german_time(1_767_223_800_000);
        assert_eq!((new_year.year, new_year.month, new_year.day), (2026, 1, 1));
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 10_957, 20_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn html_has_one_escaped_letter_per_page() {
        let letters = [
            letter("anna.schmidt", "Anna Schmidt"),
            letter("o.brien", "Ole <O'Brien>"),
        ];
        let html = render_html(&config(), &letters);
        assert_eq!(html.matches("<section class=\"brief\">").count(), 2);
        assert!(html.contains("page-break-after: always"));
        assert!(html.contains("Gymnasium &lt;Am See&gt;"));
        assert!(html.contains("Ole &lt;O&#39;Brien&gt;"));
        assert!(html.contains("https://chat.schule.test/erstanmeldung"));
        assert!(html.contains("<td class=\"code\">012345</td>"));
        assert!(html.contains("14.03.2026, 13:05 Uhr"));
        assert!(!html.contains("<O'Brien>"));
    }

    #[test]
    fn csv_quotes_where_needed() {
        let csv = render_csv(&config(), &[letter("a.b", "Anna; \"Anni\" B")]);
        let mut lines = csv.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("\u{feff}Benutzername;Name;Startcode"));
        assert_eq!(
            lines.next().unwrap(),
            "a.b;\"Anna; \"\"Anni\"\" B\";012345;14.03.2026, 13:05 Uhr;\
             https://chat.schule.test/erstanmeldung;@a.b:schule.test"
        );
    }
}
