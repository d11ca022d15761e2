//! A deterministic synthetic school as a CSV import file, for tests and benchmarks
//! (feature `synthetic`).

use std::fmt::Write as _;

/// Children's first names (with umlauts, accents and a double name).
const CHILD_FIRST_NAMES: [&str; 40] = [
    "Max",
    "Anna",
    "Ben",
    "Mia",
    "Paul",
    "Emma",
    "Leon",
    "Hannah",
    "Finn",
    "Sophie",
    "Jonas",
    "Lea",
    "Elias",
    "Marie",
    "Noah",
    "Lina",
    "Luis",
    "Emilia",
    "Felix",
    "Lena",
    "Lukas",
    "Clara",
    "Björn",
    "Jördis",
    "Sören",
    "Zoë",
    "Chloé",
    "Ömer",
    "Şükrü",
    "Çağla",
    "Elif",
    "Yusuf",
    "Zeynep",
    "Mateo",
    "Lúcia",
    "Anna Maria",
    "Jan-Ole",
    "Maël",
    "Noëlle",
    "Øyvind",
];

/// Adults' first names.
const ADULT_FIRST_NAMES: [&str; 30] = [
    "Jürgen",
    "Jörg",
    "Günther",
    "Käthe",
    "Ute",
    "Bärbel",
    "Thomas",
    "Sabine",
    "Andreas",
    "Stefanie",
    "Michael",
    "Claudia",
    "Frank",
    "Petra",
    "Ayşe",
    "Mehmet",
    "Agnieszka",
    "Łukasz",
    "Renée",
    "François",
    "Dörte",
    "Hans-Peter",
    "Marie-Luise",
    "Sören",
    "Birgit",
    "Matthias",
    "Katrin",
    "Olaf",
    "Şebnem",
    "José",
];

/// Last names, including pairs that clash after transliteration (Müller / Mueller).
const LAST_NAMES: [&str; 48] = [
    "Müller",
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hartmann",
    "Lange",
    "Köhler",
    "König",
    "Weiß",
    "Groß",
    "Jäger",
    "Kühn",
    "Kuhn",
    "Böhm",
    "Krämer",
    "Çelik",
    "Yılmaz",
    "Şahin",
    "Nowak",
    "Wałęsa",
    "García",
    "Ørsted",
    "Müller-Lüdenscheidt",
    "von Weizsäcker",
    "O'Brien",
    "Nguyen",
    "Papadopoulos",
    "Kowalski",
    "Dąbrowski",
];

/// Subjects for the subject conferences.
const SUBJECTS: [&str; 16] = [
    "Deutsch",
    "Englisch",
    "Mathematik",
    "Französisch",
    "Latein",
    "Biologie",
    "Chemie",
    "Physik",
    "Geschichte",
    "Erdkunde",
    "Politik",
    "Kunst",
    "Musik",
    "Sport",
    "Religion",
    "Informatik",
];

/// The shape of a synthetic school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticSchool {
    /// Seed of the generator: the same seed gives the same file.
    pub seed: u64,
    /// The lowest grade (the classes are "Klasse {grade}.{n}").
    pub first_grade: u32,
    /// Number of grades.
    pub grades: u32,
    /// Classes per grade.
    pub classes_per_grade: u32,
    /// Students per class.
    pub students_per_class: u32,
    /// Number of teachers (all in "Lehrer", each in one or two subject conferences; the
    /// first ones are class teachers and members of their class).
    pub teachers: u32,
}

impl SyntheticSchool {
    /// Classes 8.1–10.3 with 25 students each, their parents (one or two per family, some
    /// families with siblings), 40 teachers and two admins (about 580 people).
    pub fn new(seed: u64) -> SyntheticSchool {
        SyntheticSchool {
            seed,
            first_grade: 8,
            grades: 3,
            classes_per_grade: 3,
            students_per_class: 25,
            teachers: 40,
        }
    }

    /// Grades 5–12 with 8 classes of 19 students, 150 teachers, two admins and the parents:
    /// with seed 42 the school of the import and appservice benchmarks (3,081 people in 148
    /// groups).
    pub fn large(seed: u64) -> SyntheticSchool {
        SyntheticSchool {
            first_grade: 5,
            grades: 8,
            classes_per_grade: 8,
            students_per_class: 19,
            teachers: 150,
            ..SyntheticSchool::new(seed)
        }
    }

    /// The class names, "Klasse 8.1" ...
    fn classes(&self) -> Vec<String> {
        let grades = self.first_grade..self.first_grade + self.grades;
        grades
            .flat_map(|g| (1..=self.classes_per_grade).map(move |n| format!("Klasse {g}.{n}")))
            .collect()
    }

    /// The import file (`;`-separated, German headers, groups separated by `,`).
    ///
    /// Deliberate clashes: the first two students are both called "Max Müller" (different
    /// families), and the first teacher is one as well; "Mueller" also occurs.
    pub fn csv(&self) -> String {
        let mut rng = SplitMix64(self.seed);
        let classes = self.classes();
        let mut out = String::from("ID;Vorname;Nachname;Rolle;Gruppen;Kinder;Einwilligung\n");
        self.write_staff(&mut rng, &classes, &mut out);
        let mut slots: Vec<usize> = (0..classes.len())
            .flat_map(|class| std::iter::repeat_n(class, self.students_per_class as usize))
            .collect();
        rng.shuffle(&mut slots);
        let mut parents = String::new();
        let (mut student, mut family) = (0, 0);
        while student < slots.len() {
            let size = match rng.below(100) {
                0..=79 => 1,
                80..=96 => 2,
                _ => 3,
            };
            let size = if family < 2 {
                1
            } else {
                size.min(slots.len() - student)
            };
            let last = if family < 2 {
                "Müller"
            } else {
                *rng.pick(&LAST_NAMES)
            };
            let mut children = Vec::new();
            for &class in &slots[student..student + size] {
                student += 1;
                let first = if family < 2 {
                    "Max"
                } else {
                    *rng.pick(&CHILD_FIRST_NAMES)
                };
                let mut groups = classes[class].clone();
                for (percent, extra) in [(5, "AG Theater"), (3, "Schülervertretung")] {
                    if rng.below(100) < percent {
                        groups = format!("{groups},{extra}");
                    }
                }
                let consent = if rng.below(100) < 92 { "ja" } else { "nein" };
                let id = format!("S{student:05}");
                let _ = writeln!(out, "{id};{first};{last};Schüler;{groups};;{consent}");
                children.push(id);
            }
            family += 1;
            let count = if rng.below(100) < 30 { 1 } else { 2 };
            for n in 0..count {
                let own_last = if n == 1 && rng.below(100) < 25 {
                    *rng.pick(&LAST_NAMES)
                } else {
                    last
                };
                let first = rng.pick(&ADULT_FIRST_NAMES);
                let kids = children.join(",");
                let _ = writeln!(
                    parents,
                    "E{family:05}-{n};{first};{own_last};Sorgeberechtigte;;{kids};ja"
                );
            }
        }
        out + &parents
    }

    /// Teachers and admins.
    fn write_staff(&self, rng: &mut SplitMix64, classes: &[String], out: &mut String) {
        for n in 0..self.teachers as usize {
            let (first, last) = if n == 0 {
                ("Max", "Müller")
            } else {
                (*rng.pick(&ADULT_FIRST_NAMES), *rng.pick(&LAST_NAMES))
            };
            let mut groups = format!("Lehrer,Fachkonferenz {}", SUBJECTS[n % SUBJECTS.len()]);
            if rng.below(2) == 0 {
                groups = format!("{groups},Fachkonferenz {}", rng.pick(&SUBJECTS));
            }
            if let Some(class) = classes.get(n) {
                groups = format!("{groups},{class}");
            }
            let _ = writeln!(out, "L{n:04};{first};{last};Lehrkraft;{groups};;ja");
        }
        let _ = writeln!(
            out,
            "A0001;Birgit;Schäfer-Olsen;Schulleitung;Lehrer,Schulleitung;;ja"
        );
        let _ = writeln!(out, "A0002;Olaf;Grünewald;Admin;Lehrer,Schulleitung;;ja");
    }
}

/// [`SyntheticSchool::new`]`(seed).csv()`: a school of about 580 people.
pub fn synthetic_school_csv(seed: u64) -> String {
    SyntheticSchool::new(seed).csv()
}

/// The SplitMix64 generator: tiny, fast, deterministic and good enough for test data (also
/// used by other crates' generated tests).
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
