//! The example file shipped in `config/` stays valid and plans as documented.

use schulhof_directory::{parse_csv, plan_import, Directory};

#[test]
fn example_file_imports() {
    let csv = include_bytes!("../../../config/beispiel-import.csv");
    let file = parse_csv(csv).expect("the example file is valid");
    let plan = plan_import(&Directory::default(), &file, 0).expect("plannable");
    let localparts: Vec<&str> = plan.added.iter().map(|p| p.localpart.as_str()).collect();
    assert_eq!(
        localparts,
        [
            "anna.schmidt",
            "ben.mueller",
            "birgit.schaefer",
            "clara.mueller",
            "erika.mustermann",
            "juergen.gross",
            "max.mustermann",
            "mehmet.yilmaz",
            "mia.mueller",
            "zoe.yilmaz",
        ]
    );
    let clara = &plan.result.people["E-3001"];
    let groups: Vec<&str> = clara.groups.iter().map(String::as_str).collect();
    assert_eq!(groups, ["Sorgeberechtigte 8.1", "Sorgeberechtigte 8.2"]);
}
