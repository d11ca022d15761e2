//! TODO(owner): module being written.

use crate::router::Routes;

pub(super) fn routes(routes: Routes) -> Routes {
    routes
}
