//! Logging in and out.

use anyhow::{ensure, Result};
use schulhof_e2e::{backend_tests, user_id_of, TestServer};

backend_tests!(login_whoami_logout);

/// Login, whoami names the user and device, logout makes the old token unusable.
async fn login_whoami_logout(server: &TestServer) -> Result<()> {
    let anna = server.user("anna.schmidt", "Anna Schmidt").await?;
    ensure!(
        anna.id() == user_id_of("anna.schmidt"),
        "logged in as {}",
        anna.id()
    );

    let whoami = anna.client.whoami().await?;
    ensure!(
        whoami.user_id == anna.user_id,
        "whoami says {}",
        whoami.user_id
    );
    ensure!(
        whoami.device_id.as_deref() == anna.client.device_id(),
        "whoami device {:?}, login device {:?}",
        whoami.device_id,
        anna.client.device_id()
    );

    let old_token = anna.raw();
    anna.client.matrix_auth().logout().await?;
    old_token
        .get("/_matrix/client/v3/account/whoami")
        .await?
        .expect_error(&[401], &["M_UNKNOWN_TOKEN"])
}
