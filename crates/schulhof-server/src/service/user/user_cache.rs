//! A per-user cache of values derived from committed data, which never keeps a stale value:
//! a load that raced with an invalidation is returned to its caller but not cached.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

/// Values by user ID, plus a generation counter bumped by every invalidation.
pub struct UserCache<V> {
    inner: RwLock<(u64, HashMap<String, Arc<V>>)>,
}

impl<V> Default for UserCache<V> {
    fn default() -> Self {
        Self {
            inner: RwLock::new((0, HashMap::new())),
        }
    }
}

impl<V> UserCache<V> {
    /// The cached value of `user_id`, or the one `load` produces (cached unless an
    /// invalidation happened while it loaded).
    pub async fn get_or_load<E, F>(&self, user_id: &str, load: F) -> Result<Arc<V>, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        let generation = {
            let inner = self.inner.read().expect("user cache");
            if let Some(value) = inner.1.get(user_id) {
                return Ok(value.clone());
            }
            inner.0
        };
        let value = Arc::new(load.await?);
        let mut inner = self.inner.write().expect("user cache");
        if inner.0 == generation {
            inner.1.insert(user_id.to_owned(), value.clone());
        }
        Ok(value)
    }

    /// Drops the value of `user_id`; loads running now will not be cached.
    pub fn invalidate(&self, user_id: &str) {
        let mut inner = self.inner.write().expect("user cache");
        inner.0 += 1;
        inner.1.remove(user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_load_that_raced_with_an_invalidation_is_not_kept() {
        let cache: UserCache<u32> = UserCache::default();
        let stale = cache
            .get_or_load::<(), _>("@a:x", async {
                cache.invalidate("@a:x");
                Ok(1)
            })
            .await
            .unwrap();
        assert_eq!(*stale, 1);
        let fresh = cache
            .get_or_load::<(), _>("@a:x", async { Ok(2) })
            .await
            .unwrap();
        assert_eq!(*fresh, 2, "the stale value was not cached");
        let cached = cache
            .get_or_load::<(), _>("@a:x", async { Ok(3) })
            .await
            .unwrap();
        assert_eq!(*cached, 2);
    }
}
