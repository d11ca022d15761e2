//! Shared helpers of the store's integration tests.

use schulhof_store::Db;

/// A fresh SQLite database in a new file under the system's temp directory.
pub async fn temp_db(prefix: &str, name: &str) -> Db {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = std::env::temp_dir().join(format!(
        "schulhof-{prefix}-{name}-{}-{nanos}.db",
        std::process::id()
    ));
    Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap()
}
