//! Checks homeserver responses against the Matrix client-server OpenAPI spec.
//!
//! [`SpecValidator`] loads the spec's `data/api/client-server/*.yaml` files, bundles every
//! JSON response schema (resolving the relative `$ref`s to other YAML/JSON files itself, no
//! network) and validates response bodies with the `jsonschema` crate. [`ValidatingProxy`] is
//! a reverse proxy that sits between a Matrix client and the homeserver under test and checks
//! every response that passes through it. [`spec_dir`] finds the spec data (the pinned
//! submodule [`SUBMODULE`], else `shared/matrix-spec` beside the repository).

mod bundle;
mod matching;
mod proxy;
mod spec_dir;
mod validate;

pub use proxy::ValidatingProxy;
pub use spec_dir::{spec_dir, SPEC_DIR_VAR, SUBMODULE};
pub use validate::{Checked, LoadError, SpecValidator};
