//! Loading spec files and bundling schemas with relative `$ref`s into self-contained documents.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Why the spec could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read (or the spec directory could not be listed).
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not valid YAML/JSON, or holds values JSON cannot represent.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A `$ref` could not be resolved.
    #[error("unresolvable $ref {reference:?} in {from}: {reason}")]
    Ref {
        /// The file containing the reference.
        from: PathBuf,
        /// The reference as written.
        reference: String,
        /// Why it could not be resolved.
        reason: String,
    },
    /// No matrix-spec data in any place [`crate::spec_dir`] looks at.
    #[error(
        "no Matrix spec data (a data/ directory) in {}. Get it with `git submodule update \
         --init` (the pinned matrix-spec in {}), or put a matrix-spec checkout at \
         shared/matrix-spec beside the repository, or set {} to one",
        list(looked_in),
        crate::spec_dir::SUBMODULE,
        crate::spec_dir::SPEC_DIR_VAR
    )]
    SpecMissing {
        /// The places looked at, in order.
        looked_in: Vec<PathBuf>,
    },
    /// The spec directory holds no client-server API files.
    #[error("no client-server API files found in {0}")]
    NoApiFiles(PathBuf),
    /// A bundled response schema was rejected by the JSON schema compiler.
    #[error("invalid schema for {operation}: {message}")]
    Schema {
        /// `METHOD template status` of the response.
        operation: String,
        /// The compiler's message.
        message: String,
    },
}

/// Paths as "`a`, `b`".
fn list(paths: &[PathBuf]) -> String {
    let quoted: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
    quoted.join(", ")
}

/// Cache of parsed spec files, keyed by canonical path.
#[derive(Default)]
pub(crate) struct Documents {
    files: HashMap<PathBuf, Value>,
}

impl Documents {
    /// Parses (once) the YAML or JSON file at `path`; returns its canonical path.
    pub(crate) fn load(&mut self, path: &Path) -> Result<PathBuf, LoadError> {
        let io_err = |source| LoadError::Io {
            path: path.to_owned(),
            source,
        };
        let canonical = std::fs::canonicalize(path).map_err(io_err)?;
        if !self.files.contains_key(&canonical) {
            let text = std::fs::read_to_string(&canonical).map_err(io_err)?;
            let value = parse(&text).map_err(|message| LoadError::Parse {
                path: canonical.clone(),
                message,
            })?;
            self.files.insert(canonical.clone(), value);
        }
        Ok(canonical)
    }

    /// The parsed content of a file previously returned by [`Documents::load`].
    pub(crate) fn get(&self, canonical: &Path) -> &Value {
        &self.files[canonical]
    }

    /// Resolves `reference` (`file`, `file#/pointer` or `#/pointer`) relative to the file
    /// `base`; returns the target's canonical file and pointer.
    fn locate(&mut self, reference: &str, base: &Path) -> Result<(PathBuf, String), LoadError> {
        let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file.is_empty() {
            base.to_owned()
        } else {
            let dir = base.parent().unwrap_or(Path::new("."));
            self.load(&dir.join(file))
                .map_err(|e| ref_error(base, reference, e))?
        };
        if self.files[&file].pointer(pointer).is_none() {
            return Err(ref_error(base, reference, "pointer not found"));
        }
        Ok((file, pointer.to_owned()))
    }

    /// Follows `$ref`s of a non-schema OpenAPI object (e.g. a response) until reaching a
    /// concrete object; returns it together with the file it lives in.
    pub(crate) fn deref_object(
        &mut self,
        value: &Value,
        base: &Path,
    ) -> Result<(Value, PathBuf), LoadError> {
        let mut current = (value.clone(), base.to_owned());
        for _ in 0..32 {
            let Some(reference) = current.0.get("$ref").and_then(Value::as_str) else {
                return Ok(current);
            };
            let (file, pointer) = self.locate(reference, &current.1)?;
            current = (
                self.files[&file]
                    .pointer(&pointer)
                    .cloned()
                    .unwrap_or_default(),
                file,
            );
        }
        Err(ref_error(base, "", "too many nested $refs"))
    }

    /// Turns `schema` (found in file `base`) into a self-contained JSON schema: every
    /// referenced schema is copied into `$defs` under a generated name and `$ref`s are
    /// rewritten to `#/$defs/NAME`, so recursive references stay finite.
    pub(crate) fn bundle_schema(
        &mut self,
        schema: &Value,
        base: &Path,
    ) -> Result<Value, LoadError> {
        let mut bundler = Bundler {
            docs: self,
            names: HashMap::new(),
            taken: HashSet::new(),
            defs: Map::new(),
        };
        let mut root = bundler.rewrite(schema, base)?;
        let defs = std::mem::take(&mut bundler.defs);
        if !defs.is_empty() {
            match &mut root {
                Value::Object(map) => {
                    map.insert("$defs".to_owned(), Value::Object(defs));
                }
                other => {
                    // A boolean schema cannot carry `$defs`; wrap it.
                    let inner = std::mem::take(other);
                    *other = serde_json::json!({ "allOf": [inner], "$defs": defs });
                }
            }
        }
        Ok(root)
    }
}

fn ref_error(base: &Path, reference: &str, reason: impl ToString) -> LoadError {
    LoadError::Ref {
        from: base.to_owned(),
        reference: reference.to_owned(),
        reason: reason.to_string(),
    }
}

/// State of one [`Documents::bundle_schema`] run.
struct Bundler<'a> {
    docs: &'a mut Documents,
    /// (file, pointer) -> generated `$defs` name.
    names: HashMap<(PathBuf, String), String>,
    taken: HashSet<String>,
    defs: Map<String, Value>,
}

impl Bundler<'_> {
    /// Copies a schema, rewriting `$ref`s and dropping examples and `x-*` extensions.
    fn rewrite(&mut self, schema: &Value, base: &Path) -> Result<Value, LoadError> {
        match schema {
            Value::Array(items) => items.iter().map(|item| self.rewrite(item, base)).collect(),
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, value) in map {
                    let value = match key.as_str() {
                        "$ref" => {
                            let reference = value.as_str().ok_or_else(|| {
                                ref_error(base, &value.to_string(), "not a string")
                            })?;
                            Value::String(self.reference(reference, base)?)
                        }
                        "example" | "examples" => continue,
                        key if key.starts_with("x-") => continue,
                        "properties" | "patternProperties" | "dependentSchemas" | "$defs" => {
                            let Value::Object(schemas) = value else {
                                out.insert(key.clone(), value.clone());
                                continue;
                            };
                            let mut rewritten = Map::new();
                            for (name, schema) in schemas {
                                rewritten.insert(name.clone(), self.rewrite(schema, base)?);
                            }
                            Value::Object(rewritten)
                        }
                        "items"
                        | "prefixItems"
                        | "additionalItems"
                        | "additionalProperties"
                        | "unevaluatedItems"
                        | "unevaluatedProperties"
                        | "propertyNames"
                        | "contains"
                        | "not"
                        | "if"
                        | "then"
                        | "else"
                        | "allOf"
                        | "anyOf"
                        | "oneOf" => self.rewrite(value, base)?,
                        _ => value.clone(),
                    };
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    /// Returns the bundled `#/$defs/NAME` reference for `reference`, bundling its target
    /// on first use.
    fn reference(&mut self, reference: &str, base: &Path) -> Result<String, LoadError> {
        let key = self.docs.locate(reference, base)?;
        if let Some(name) = self.names.get(&key) {
            return Ok(format!("#/$defs/{name}"));
        }
        let name = self.fresh_name(&key.0, &key.1);
        // Register before descending so recursive references terminate.
        self.names.insert(key.clone(), name.clone());
        let target = self
            .docs
            .get(&key.0)
            .pointer(&key.1)
            .cloned()
            .unwrap_or_default();
        let bundled = self.rewrite(&target, &key.0)?;
        self.defs.insert(name.clone(), bundled);
        Ok(format!("#/$defs/{name}"))
    }

    /// A unique, pointer-safe `$defs` name derived from the file stem and pointer.
    fn fresh_name(&mut self, file: &Path, pointer: &str) -> String {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("schema");
        let mut base: String = format!("{stem}{pointer}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if base.is_empty() {
            base.push_str("schema");
        }
        let mut name = base.clone();
        let mut counter = 1;
        while !self.taken.insert(name.clone()) {
            counter += 1;
            name = format!("{base}_{counter}");
        }
        name
    }
}

/// Parses YAML (or JSON, a subset of it) into a JSON value, stringifying non-string keys.
fn parse(text: &str) -> Result<Value, String> {
    let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    yaml_to_json(yaml)
}

fn yaml_to_json(yaml: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into()
            } else if let Some(u) = n.as_u64() {
                u.into()
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("number {n} has no JSON representation"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => items
            .into_iter()
            .map(yaml_to_json)
            .collect::<Result<_, _>>()?,
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match yaml_to_json(key)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}
