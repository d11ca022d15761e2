//! Brute force: repeated wrong passwords are refused with `M_LIMIT_EXCEEDED` per account and
//! per address, and the right password does not get through a closed limit either.

use anyhow::{ensure, Result};
use schulhof_e2e::{backend_tests, password_of, TestServer};
use serde_json::json;

backend_tests!(wrong_passwords_are_rate_limited);

fn login_body(user: &str, password: &str) -> serde_json::Value {
    json!({
        "type": "m.login.password",
        "identifier": { "type": "m.id.user", "user": user },
        "password": password,
    })
}

/// Five wrong passwords for one account are answered normally; the sixth attempt (even with
/// the right password) gets 429 `M_LIMIT_EXCEEDED` with `retry_after_ms`, while another
/// account from the same address still logs in until the address limit is reached too.
async fn wrong_passwords_are_rate_limited(server: &TestServer) -> Result<()> {
    server.add_user("ben.mueller", "Ben Müller").await?;
    server.add_user("clara.wagner", "Clara Wagner").await?;
    server
        .restart_with_sections(
            "[rate_limits]\nenabled = true\nlogin_per_second = 0.01\nlogin_burst = 5.0\nlogin_address_per_second = 0.01\nlogin_address_burst = 8.0",
        )
        .await?;
    let raw = server.raw();
    for attempt in 1..=5 {
        let response = raw
            .post(
                "/_matrix/client/v3/login",
                login_body("ben.mueller", "falsch"),
            )
            .await?;
        response.expect_error(&[403], &["M_FORBIDDEN"])?;
        ensure!(
            response.body["error"] == "Benutzername oder Passwort ist falsch.",
            "attempt {attempt}: {}",
            response.body
        );
    }
    let limited = raw
        .post(
            "/_matrix/client/v3/login",
            login_body("ben.mueller", &password_of("ben.mueller")),
        )
        .await?;
    limited.expect_error(&[429], &["M_LIMIT_EXCEEDED"])?;
    let retry = limited.body["retry_after_ms"].as_u64().unwrap_or(0);
    ensure!(retry > 0, "retry_after_ms missing: {}", limited.body);

    // Another account from the same address is not locked out by Ben's limit ...
    raw.post(
        "/_matrix/client/v3/login",
        login_body("clara.wagner", &password_of("clara.wagner")),
    )
    .await?
    .ok()?;
    // ... until the address itself has used up its larger budget (8 attempts).
    raw.post(
        "/_matrix/client/v3/login",
        login_body("clara.wagner", "falsch"),
    )
    .await?
    .expect_error(&[403], &["M_FORBIDDEN"])?;
    raw.post(
        "/_matrix/client/v3/login",
        login_body("clara.wagner", &password_of("clara.wagner")),
    )
    .await?
    .expect_error(&[429], &["M_LIMIT_EXCEEDED"])
}
