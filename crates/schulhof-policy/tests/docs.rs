//! `docs/policy.md` lists every rule with its exact texts ("du", "Sie", English), and the
//! tests it names exist.

use schulhof_policy::Rule;

/// The policy documentation.
const DOCS: &str = include_str!("../../../docs/policy.md");

/// The test sources a test name like `rules::foo` refers to, by file.
const SOURCES: [(&str, &str); 5] = [
    ("rules", include_str!("rules.rs")),
    ("table", include_str!("table.rs")),
    ("escalation", include_str!("escalation.rs")),
    ("alloc", include_str!("alloc.rs")),
    ("rights::tests", include_str!("../src/rights.rs")),
];

/// The row of the rules table for `rule`.
fn row(rule: Rule) -> &'static str {
    let start = format!("| `{}` |", rule.id());
    DOCS.lines()
        .find(|line| line.starts_with(&start))
        .unwrap_or_else(|| panic!("docs/policy.md lists no rule {}", rule.id()))
}

#[test]
fn docs_list_every_rule_with_its_messages() {
    for &rule in Rule::ALL {
        let row = row(rule);
        let text = rule.text();
        assert!(row.contains(text.du), "German text of {rule} (du)");
        assert!(row.contains(text.sie), "German text of {rule} (Sie)");
        assert!(row.contains(text.en), "English text of {rule}");
    }
}

#[test]
fn tests_named_in_the_docs_exist() {
    let names = DOCS
        .split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|quoted| quoted.rsplit_once("::"))
        .filter(|(file, name)| SOURCES.iter().any(|(f, _)| f == file) && !name.contains(' '));
    let mut checked = 0;
    for (file, name) in names {
        let source = SOURCES.iter().find(|(f, _)| *f == file).unwrap().1;
        assert!(
            source.contains(&format!("fn {name}(")),
            "docs/policy.md names {file}::{name}, which does not exist"
        );
        checked += 1;
    }
    assert!(checked > 40, "{checked}");
}
