//! `config/appservice.toml`: names and topics, the space layout, announcement rooms, power
//! levels and encryption, and the rights the school's CSV export is read with. Tables left out
//! take their defaults (the shipped file spells them out); a room or space table that is
//! written needs at least `name` (and rooms `space`).

use std::path::PathBuf;

use schulhof_directory::{Group, GroupKind, Role};
use serde::Deserialize;

use crate::error::{ConfigError, Invalid, SourceMap};
use crate::template::{Placeholder, Template};

/// The shipped `config/appservice.toml` (equal to [`Config::default`]).
pub const DEFAULT_APPSERVICE_TOML: &str = include_str!("../../../config/appservice.toml");

/// The default reconcile schedule: every 15 minutes.
pub const DEFAULT_SCHEDULE: &str = "0 */15 * * * *";

/// The power level of the appservice's bot in every room and space.
pub const BOT_POWER_LEVEL: i64 = 100;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Localpart of the appservice's bot user (the `sender_localpart` of its registration).
    pub bot: String,
    /// When to reconcile besides after every directory change: a cron expression with
    /// seconds (`sec min hour day month weekday`), in UTC.
    pub schedule: String,
    /// The school space at the top.
    pub school: SpaceSettings,
    /// The spaces below the school space.
    pub spaces: Spaces,
    /// The rooms of the groups, per kind.
    pub rooms: Rooms,
    /// Power levels per role.
    pub power_levels: PowerLevels,
    /// How the school's CSV export (`--directory-csv`) is read.
    pub directory_csv: DirectoryCsv,
}

/// `[directory_csv]`: the rights the school's CSV export is read with, so that the CSV
/// source leaves out exactly the people Schulhof's directory read leaves out (restricted for
/// want of consent, see `schulhof_policy::unavailability`). Not used with Schulhof's
/// directory read, where the server decides.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectoryCsv {
    /// The school's rights file (Schulhof's `config/rights.toml` format; relative paths from
    /// the working directory); `None`: the default rights. Read at start; a named file that
    /// cannot be read or is invalid stops the start.
    pub rights_file: Option<PathBuf>,
    /// Parents are restricted as well while students need consent and none of their children
    /// has it (as Schulhof's `[directory] restrict_parents_of_students_without_consent`;
    /// default: true).
    pub restrict_parents_of_students_without_consent: bool,
}

/// Name and topic of a space.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSettings {
    /// Name template.
    pub name: Template,
    /// Topic template (empty: no topic).
    #[serde(default = "empty")]
    pub topic: Template,
}

/// The spaces below the school space.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Spaces {
    /// One space per year ("Jahrgang {jahrgang}").
    pub year: SpaceSettings,
    /// The parents' space.
    pub parents: SpaceSettings,
    /// The staff space.
    pub staff: SpaceSettings,
    /// The space for all other groups.
    pub groups: SpaceSettings,
}

/// The space a kind of room is placed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpaceSlot {
    /// Directly in the school space.
    School,
    /// In the space of the class's year (class and parents' rooms only).
    Year,
    /// In the parents' space.
    Parents,
    /// In the staff space.
    Staff,
    /// In the space for other groups.
    Groups,
}

/// Settings of one kind of room.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomSettings {
    /// Name template.
    pub name: Template,
    /// Topic template (empty: no topic).
    #[serde(default = "empty")]
    pub topic: Template,
    /// The space the rooms are placed in.
    pub space: SpaceSlot,
    /// Only teachers (and admins) write; everyone else reads.
    #[serde(default)]
    pub announcement: bool,
    /// Rooms are end-to-end encrypted (cannot be switched off once on).
    #[serde(default = "yes")]
    pub encrypted: bool,
    /// Parents' rooms only: the teachers of the class are members too (as moderators).
    #[serde(default)]
    pub class_teachers: bool,
}

/// The rooms of the groups, per kind.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rooms {
    /// Classes ("Klasse 8.1").
    pub class: RoomSettings,
    /// Parents of a class ("Sorgeberechtigte 8.1").
    pub parents: RoomSettings,
    /// Staff ("Kollegium").
    pub staff: RoomSettings,
    /// Subject conferences ("Fachkonferenz Englisch").
    pub subject_conference: RoomSettings,
    /// Other imported groups ("AG Theater").
    pub custom: RoomSettings,
    /// Groups a teacher created.
    pub teacher_group: RoomSettings,
}

/// Power levels per role (0–100; the bot has 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PowerLevels {
    /// Admins (Schulleitung) in every room they are in.
    pub admin: i64,
    /// Teachers in the rooms of their groups (moderators).
    pub teacher: i64,
    /// Students.
    pub student: i64,
    /// Parents.
    pub parent: i64,
}

/// The kind of a group's room (a group kind, with teachers' own groups apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoomKind {
    /// A class.
    Class,
    /// The parents of a class.
    Parents,
    /// Staff.
    Staff,
    /// A subject conference.
    SubjectConference,
    /// Another imported group.
    Custom,
    /// A group a teacher created.
    TeacherGroup,
}

impl RoomKind {
    /// Every kind, with its table name in `[rooms.…]`.
    pub const ALL: [(RoomKind, &'static str); 6] = [
        (RoomKind::Class, "class"),
        (RoomKind::Parents, "parents"),
        (RoomKind::Staff, "staff"),
        (RoomKind::SubjectConference, "subject_conference"),
        (RoomKind::Custom, "custom"),
        (RoomKind::TeacherGroup, "teacher_group"),
    ];

    /// The kind of `group`'s room.
    pub fn of(group: &Group) -> RoomKind {
        match group.kind {
            GroupKind::Class => RoomKind::Class,
            GroupKind::Parents => RoomKind::Parents,
            GroupKind::Staff => RoomKind::Staff,
            GroupKind::SubjectConference => RoomKind::SubjectConference,
            GroupKind::Custom if group.created_by.is_some() => RoomKind::TeacherGroup,
            GroupKind::Custom => RoomKind::Custom,
        }
    }

    /// Class and parents' rooms belong to a class (they have `{klasse}` and `{jahrgang}`).
    pub fn has_class(self) -> bool {
        matches!(self, RoomKind::Class | RoomKind::Parents)
    }
}

impl Rooms {
    /// The settings of `kind`.
    pub fn of(&self, kind: RoomKind) -> &RoomSettings {
        match kind {
            RoomKind::Class => &self.class,
            RoomKind::Parents => &self.parents,
            RoomKind::Staff => &self.staff,
            RoomKind::SubjectConference => &self.subject_conference,
            RoomKind::Custom => &self.custom,
            RoomKind::TeacherGroup => &self.teacher_group,
        }
    }
}

impl PowerLevels {
    /// The level of `role`.
    pub fn of(&self, role: Role) -> i64 {
        match role {
            Role::Admin => self.admin,
            Role::Teacher => self.teacher,
            Role::Student => self.student,
            Role::Parent => self.parent,
        }
    }
}

impl Config {
    /// The reconcile schedule (checked when the file was read).
    pub fn schedule(&self) -> cron::Schedule {
        std::str::FromStr::from_str(&self.schedule).expect("checked in Config::check")
    }

    /// Parses and checks the file's text; `file` names it in errors. Unknown keys, unknown
    /// placeholders and invalid power levels are errors naming the line and the field.
    pub fn from_toml(file: &str, text: &str) -> Result<Config, ConfigError> {
        let map = SourceMap::new(file, text)?;
        let config: Config = toml::from_str(text).map_err(|error| map.serde_error(&error))?;
        config.check().map_err(|invalid| map.locate(invalid))?;
        Ok(config)
    }

    /// [`Config::from_toml`], or the defaults when the file does not exist (`None`).
    pub fn from_optional_toml(file: &str, text: Option<&str>) -> Result<Config, ConfigError> {
        text.map_or_else(
            || Ok(Config::default()),
            |text| Config::from_toml(file, text),
        )
    }

    /// The checks beyond the types: the bot's localpart, templates, layout, power levels.
    fn check(&self) -> Result<(), Invalid> {
        let valid_localpart =
            |c: char| matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '=' | '-' | '/');
        if self.bot.is_empty() || !self.bot.chars().all(valid_localpart) {
            return Err(Invalid::new(
                "bot",
                "Der Name des Bots ist kein gültiger Matrix-Localpart (a–z, 0–9, . _ = - /).",
                "not a valid Matrix localpart (a-z, 0-9, . _ = - /)",
            ));
        }
        if let Err(error) = std::str::FromStr::from_str(&self.schedule).map(|_: cron::Schedule| ())
        {
            return Err(Invalid::new(
                "schedule",
                format!(
                    "Kein gültiger Zeitplan (Sekunde Minute Stunde Tag Monat Wochentag): {error}."
                ),
                format!("not a valid schedule (sec min hour day month weekday): {error}"),
            ));
        }
        use Placeholder::{Class, Group, School, Year};
        name("school.name", &self.school.name, &[])?;
        template("school.topic", &self.school.topic, &[School])?;
        for (name, space) in [
            ("year", &self.spaces.year),
            ("parents", &self.spaces.parents),
            ("staff", &self.spaces.staff),
            ("groups", &self.spaces.groups),
        ] {
            let allowed: &[Placeholder] = if name == "year" {
                &[Year, School]
            } else {
                &[School]
            };
            self::name(&format!("spaces.{name}.name"), &space.name, allowed)?;
            template(&format!("spaces.{name}.topic"), &space.topic, allowed)?;
        }
        for (kind, name) in RoomKind::ALL {
            let room = self.rooms.of(kind);
            let allowed: &[Placeholder] = if kind.has_class() {
                &[Group, Class, Year, School]
            } else {
                &[Group, School]
            };
            self::name(&format!("rooms.{name}.name"), &room.name, allowed)?;
            template(&format!("rooms.{name}.topic"), &room.topic, allowed)?;
            if room.space == SpaceSlot::Year && !kind.has_class() {
                return Err(Invalid::new(
                    &format!("rooms.{name}.space"),
                    "Nur Klassen- und Elternräume gehören zu einem Jahrgang (\"year\").",
                    "only class and parents' rooms belong to a year (\"year\")",
                ));
            }
            if room.class_teachers && kind != RoomKind::Parents {
                return Err(Invalid::new(
                    &format!("rooms.{name}.class_teachers"),
                    "„class_teachers“ gilt nur für Elternräume ([rooms.parents]).",
                    "`class_teachers` applies to parents' rooms only ([rooms.parents])",
                ));
            }
        }
        self.power_levels.check()
    }
}

impl PowerLevels {
    /// Each level within 0–100; teachers above students and parents (else announcement rooms
    /// would let them write); admins at least teachers.
    fn check(&self) -> Result<(), Invalid> {
        for (field, level) in [
            ("admin", self.admin),
            ("teacher", self.teacher),
            ("student", self.student),
            ("parent", self.parent),
        ] {
            if !(0..=BOT_POWER_LEVEL).contains(&level) {
                return Err(Invalid::new(
                    &format!("power_levels.{field}"),
                    format!("{level} liegt nicht zwischen 0 und 100."),
                    format!("{level} is not between 0 and 100"),
                ));
            }
        }
        for (field, level) in [("student", self.student), ("parent", self.parent)] {
            if level >= self.teacher {
                return Err(Invalid::new(
                    &format!("power_levels.{field}"),
                    format!(
                        "Muss kleiner sein als der Wert der Lehrkräfte ({}).",
                        self.teacher
                    ),
                    format!("must be below the teachers' level ({})", self.teacher),
                ));
            }
        }
        if self.admin < self.teacher {
            return Err(Invalid::new(
                "power_levels.admin",
                format!(
                    "Darf nicht kleiner sein als der Wert der Lehrkräfte ({}).",
                    self.teacher
                ),
                format!("must not be below the teachers' level ({})", self.teacher),
            ));
        }
        Ok(())
    }
}

/// Checks the name template at `field`: not empty, placeholders from `allowed`.
fn name(field: &str, template: &Template, allowed: &[Placeholder]) -> Result<(), Invalid> {
    if template.as_str().trim().is_empty() {
        return Err(Invalid::new(
            field,
            "Der Name darf nicht leer sein.",
            "must not be empty",
        ));
    }
    self::template(field, template, allowed)
}

/// Checks `template` at `field` against `allowed`.
fn template(field: &str, template: &Template, allowed: &[Placeholder]) -> Result<(), Invalid> {
    template
        .check(allowed)
        .map_err(|(de, en)| Invalid::new(field, de, en))
}

/// An empty template.
fn empty() -> Template {
    Template::from("")
}

/// `true`.
fn yes() -> bool {
    true
}

impl Default for Config {
    fn default() -> Config {
        Config {
            bot: "schulhof-schule".to_owned(),
            schedule: DEFAULT_SCHEDULE.to_owned(),
            school: space("Unsere Schule", "Alle Räume der Schule"),
            spaces: Spaces::default(),
            rooms: Rooms::default(),
            power_levels: PowerLevels::default(),
            directory_csv: DirectoryCsv::default(),
        }
    }
}

impl Default for DirectoryCsv {
    fn default() -> DirectoryCsv {
        DirectoryCsv {
            rights_file: None,
            restrict_parents_of_students_without_consent: true,
        }
    }
}

impl Default for Spaces {
    fn default() -> Spaces {
        Spaces {
            year: space(
                "Jahrgang {jahrgang}",
                "Die Klassen des Jahrgangs {jahrgang}",
            ),
            parents: space("Sorgeberechtigte", "Die Räume der Sorgeberechtigten"),
            staff: space("Kollegium", "Kollegium und Fachkonferenzen"),
            groups: space("Gruppen und AGs", "Weitere Gruppen der Schule"),
        }
    }
}

impl Default for Rooms {
    fn default() -> Rooms {
        let room = |name: &str, topic: &str, space: SpaceSlot| RoomSettings {
            name: name.into(),
            topic: topic.into(),
            space,
            announcement: false,
            encrypted: true,
            class_teachers: false,
        };
        Rooms {
            class: room(
                "Klasse {klasse}",
                "Klassenraum der Klasse {klasse}",
                SpaceSlot::Year,
            ),
            parents: RoomSettings {
                class_teachers: true,
                ..room(
                    "Sorgeberechtigte {klasse}",
                    "Sorgeberechtigte und Lehrkräfte der Klasse {klasse}",
                    SpaceSlot::Parents,
                )
            },
            staff: room("{gruppe}", "Austausch im Kollegium", SpaceSlot::Staff),
            subject_conference: room("{gruppe}", "", SpaceSlot::Staff),
            custom: room("{gruppe}", "", SpaceSlot::Groups),
            teacher_group: room(
                "{gruppe}",
                "Von einer Lehrkraft angelegte Gruppe",
                SpaceSlot::Groups,
            ),
        }
    }
}

impl Default for PowerLevels {
    fn default() -> PowerLevels {
        PowerLevels {
            admin: 100,
            teacher: 50,
            student: 0,
            parent: 0,
        }
    }
}

/// Space settings from two texts.
fn space(name: &str, topic: &str) -> SpaceSettings {
    SpaceSettings {
        name: name.into(),
        topic: topic.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "config/appservice.toml";

    #[test]
    fn shipped_file_is_the_default_and_absence_means_defaults() {
        assert_eq!(
            Config::from_toml(FILE, DEFAULT_APPSERVICE_TOML),
            Ok(Config::default())
        );
        assert_eq!(
            Config::from_optional_toml(FILE, None),
            Ok(Config::default())
        );
        assert_eq!(Config::from_toml(FILE, ""), Ok(Config::default()));
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let text = "[power_levels]\nteacher = 60\n\n[rooms.parents]\nname = \"Eltern {klasse}\"\nspace = \"year\"\nannouncement = true\n";
        let config = Config::from_toml(FILE, text).expect("valid");
        assert_eq!(config.power_levels.teacher, 60);
        assert_eq!(config.power_levels.admin, 100);
        assert_eq!(config.rooms.parents.space, SpaceSlot::Year);
        assert!(config.rooms.parents.announcement && !config.rooms.parents.class_teachers);
        assert_eq!(config.rooms.class, Rooms::default().class);
    }

    #[test]
    fn directory_csv_names_a_rights_file_and_the_parents_switch() {
        let text = "[directory_csv]\nrights_file = \"/etc/schulhof/rights.toml\"\nrestrict_parents_of_students_without_consent = false\n";
        let config = Config::from_toml(FILE, text).expect("valid");
        assert_eq!(
            config.directory_csv,
            DirectoryCsv {
                rights_file: Some(PathBuf::from("/etc/schulhof/rights.toml")),
                restrict_parents_of_students_without_consent: false,
            }
        );
        let error =
            Config::from_toml(FILE, "[directory_csv]\nrechte = \"x\"\n").expect_err("unknown");
        assert_eq!(
            (error.line, error.field.as_str()),
            (2, "directory_csv.rechte")
        );
    }

    /// Each invalid file: its text, the line and field named, and words of the German and
    /// English messages.
    #[test]
    fn errors_name_line_and_field() {
        for (text, line, field, de, en) in [
            (
                "bot = \"schulhof\"\nroboter = 1\n",
                2,
                "roboter",
                "Unbekannter Eintrag „roboter“",
                "unknown field",
            ),
            (
                "[rooms.class]\nname = \"Klasse {klasse}\"\nspace = \"year\"\nfarbe = \"rot\"\n",
                4,
                "rooms.class.farbe",
                "Unbekannter Eintrag",
                "unknown field",
            ),
            (
                "[rooms.class]\nname = \"Klasse {nummer}\"\nspace = \"year\"\n",
                2,
                "rooms.class.name",
                "Unbekannter Platzhalter „{nummer}“",
                "unknown placeholder `{nummer}`",
            ),
            (
                "[rooms.staff]\nname = \"Kollegium {klasse}\"\nspace = \"staff\"\n",
                2,
                "rooms.staff.name",
                "Erlaubt sind hier: {gruppe}, {schule}",
                "unknown placeholder `{klasse}`",
            ),
            (
                "[spaces.year]\nname = \"Jahrgang {jahrgang\"\n",
                2,
                "spaces.year.name",
                "Nicht geschlossene Klammer",
                "unbalanced brace",
            ),
            (
                "[rooms.staff]\nname = \"Kollegium\"\nspace = \"year\"\n",
                3,
                "rooms.staff.space",
                "Jahrgang",
                "only class and parents' rooms",
            ),
            (
                "[rooms.custom]\nname = \"{gruppe}\"\nspace = \"keller\"\n",
                3,
                "rooms.custom.space",
                "Unbekannter Wert „keller“",
                "unknown variant",
            ),
            (
                "[rooms.custom]\nname = \"{gruppe}\"\nspace = \"groups\"\nclass_teachers = true\n",
                4,
                "rooms.custom.class_teachers",
                "nur für Elternräume",
                "parents' rooms only",
            ),
            (
                "[rooms.class]\nname = \"Klasse {klasse}\"\nspace = \"year\"\nencrypted = \"ja\"\n",
                4,
                "rooms.class.encrypted",
                "true oder false",
                "invalid type",
            ),
            (
                "[power_levels]\nteacher = 150\n",
                2,
                "power_levels.teacher",
                "nicht zwischen 0 und 100",
                "not between 0 and 100",
            ),
            (
                "[power_levels]\nstudent = -1\n",
                2,
                "power_levels.student",
                "nicht zwischen 0 und 100",
                "not between 0 and 100",
            ),
            (
                "[power_levels]\nteacher = 50\nparent = 50\n",
                3,
                "power_levels.parent",
                "kleiner",
                "below the teachers' level",
            ),
            (
                "# Kommentar\n[power_levels]\nadmin = 20\n",
                3,
                "power_levels.admin",
                "nicht kleiner",
                "must not be below",
            ),
            (
                "[power_levels]\nstudent = 60\n",
                2,
                "power_levels.student",
                "kleiner",
                "below the teachers' level (50)",
            ),
            (
                "[power_levels]\nteacher = \"viel\"\n",
                2,
                "power_levels.teacher",
                "ganze Zahl",
                "invalid type",
            ),
            (
                "[spaces.staff]\nname = \" \"\n",
                2,
                "spaces.staff.name",
                "nicht leer",
                "must not be empty",
            ),
            ("bot = \"Schul Hof\"\n", 1, "bot", "Localpart", "localpart"),
            (
                "[school]\nname = \"Schule {schule}\"\n",
                2,
                "school.name",
                "Erlaubt sind hier: keine",
                "allowed here: none",
            ),
            (
                "[school]\ntopic = \"x\"\n",
                1,
                "school",
                "fehlt",
                "missing field",
            ),
            (
                "[school\nname = 1\n",
                1,
                "",
                "kein gültiges TOML",
                "unclosed table",
            ),
        ] {
            let error = Config::from_toml(FILE, text).expect_err(text);
            assert_eq!(
                (error.line, error.field.as_str()),
                (line, field),
                "{text}: {error}"
            );
            assert!(
                error.message_de.contains(de),
                "{text}: {}",
                error.message_de
            );
            assert!(
                error.message_en.contains(en),
                "{text}: {}",
                error.message_en
            );
            let shown = error.to_string();
            assert!(
                shown.starts_with(&format!("{FILE}, Zeile {line}")),
                "{shown}"
            );
        }
    }
}
