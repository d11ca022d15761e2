//! The users file: pre-made accounts, one `username password` per line.

/// Credentials of one pre-made account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Localpart (`alice`) or full user id (`@alice:example.org`).
    pub user: String,
    /// Account password.
    pub password: String,
}

/// Parses a users file: one `username password` per line, separated by
/// whitespace; blank lines and lines starting with `#` are skipped.
pub fn parse(text: &str) -> Result<Vec<Account>, String> {
    let mut accounts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(user), Some(password), None) => accounts.push(Account {
                user: user.to_owned(),
                password: password.to_owned(),
            }),
            _ => return Err(format!("line {}: expected `username password`", n + 1)),
        }
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines() {
        let accounts = parse("# bench users\nalice pw1\n\n  @bob:bench.test   pw2  \n").unwrap();
        assert_eq!(
            accounts,
            vec![
                Account {
                    user: "alice".into(),
                    password: "pw1".into()
                },
                Account {
                    user: "@bob:bench.test".into(),
                    password: "pw2".into()
                },
            ]
        );
    }

    #[test]
    fn rejects_malformed_lines() {
        assert!(parse("alice\n").unwrap_err().contains("line 1"));
        assert!(parse("ok pw\nalice pw extra\n")
            .unwrap_err()
            .contains("line 2"));
    }
}
