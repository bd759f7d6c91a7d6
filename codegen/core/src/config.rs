//! Configuration: which rules run and which findings are ignored.
//!
//! `contractor.toml` is read first; when there is none, the `breaking:` section of
//! a `buf.yaml` (v1 or v2) is honoured so that a buf user moves over unchanged.
//! Paths in `ignore` and `ignore_only` are relative to the configuration file's
//! directory, which for buf v1 is the module root and for buf v2 the workspace root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::error::InputError;
use crate::rule::RuleInfo;
use crate::source::{Position, SourceText};

pub const CONFIG_FILE: &str = "contractor.toml";

/// The `[breaking]` table (and buf's `breaking:` section, which has the same keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakingConfig {
    /// Categories or rule ids to run. Empty means the default category.
    #[serde(default, rename = "use")]
    pub use_: Vec<String>,
    /// Categories or rule ids to leave out of `use`.
    #[serde(default)]
    pub except: Vec<String>,
    /// Files or directories whose findings are dropped.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Rule id or category -> files or directories where only that rule is dropped.
    #[serde(default)]
    pub ignore_only: BTreeMap<String, Vec<String>>,
    /// Drop findings in packages whose last component is an unstable version
    /// (`v1alpha1`, `v2beta`, `v1test`), as buf does.
    #[serde(default)]
    pub ignore_unstable_packages: bool,
}

/// The `[openapi]` table: OpenAPI rules are all on by default; this turns
/// some off, changes severities and ignores operations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenapiConfig {
    /// Rule ids or families (`security`, `response-body`...) to leave out.
    #[serde(default)]
    pub except: Vec<String>,
    /// Rule id -> `error`, `warning` or `info`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    /// Operations (`GET /pets/{id}`) or path prefixes (`/internal/`) whose findings are dropped.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Rule id or family -> operations or path prefixes where only that rule is dropped.
    #[serde(default)]
    pub ignore_only: BTreeMap<String, Vec<String>>,
    /// A newly deprecated operation must announce an `x-sunset` at least this many days ahead.
    #[serde(default)]
    pub deprecation_grace_days: i64,
}

/// The `[avro]` table: which compatibility mode `contractor diff` checks `.avsc` files under
/// (`backward`, `forward_transitive`, ... case-insensitive; `--compat` wins over it). The word is
/// kept as written and checked by the Avro frontend, which owns the list of modes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AvroConfig {
    #[serde(default)]
    pub compatibility: Option<String>,
}

/// The `[graphql]` table: options that change GraphQL verdicts. All off by
/// default, as in graphql-inspector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphqlConfig {
    /// Dangerous changes (a new enum value or union member, a changed default) count as breaking.
    #[serde(default)]
    pub dangerous_is_breaking: bool,
    /// Removing a field, input field, argument or enum value that was already deprecated is
    /// dangerous rather than breaking.
    #[serde(default)]
    pub deprecated_removal_is_dangerous: bool,
    /// Changes inside types that are not reachable from the root operation types are safe.
    #[serde(default)]
    pub unreachable_is_safe: bool,
}

impl OpenapiConfig {
    /// Whether a finding of `rule` about `scope` (an operation such as
    /// `GET /pets/{id}`, a path, or a file) is ignored.
    pub fn is_ignored(&self, rule: &RuleInfo, scope: &str) -> bool {
        let matches = |entries: &[String]| entries.iter().any(|e| operation_matches(e, scope));
        matches(&self.ignore)
            || self.ignore_only.iter().any(|(key, entries)| {
                (key.eq_ignore_ascii_case(rule.id) || rule.in_category(key)) && matches(entries)
            })
    }

    pub fn is_selected(&self, rule: &RuleInfo) -> bool {
        !self
            .except
            .iter()
            .any(|e| e.eq_ignore_ascii_case(rule.id) || rule.in_category(e))
    }

    /// The configured severity for `rule`, if any; an unknown word is an error.
    pub fn severity_for(&self, rule: &str) -> Result<Option<crate::Severity>, InputError> {
        let Some(word) = self.severity.get(rule) else {
            return Ok(None);
        };
        match word.to_ascii_lowercase().as_str() {
            "error" => Ok(Some(crate::Severity::Error)),
            "warning" => Ok(Some(crate::Severity::Warning)),
            "info" => Ok(Some(crate::Severity::Info)),
            other => Err(InputError::new(format!(
                "severity of `{rule}` must be error, warning or info, not `{other}`"
            ))),
        }
    }

    /// Checks that every rule id named in the table exists.
    pub fn check(&self, registry: &[RuleInfo]) -> Result<(), InputError> {
        let known = |name: &str| {
            registry
                .iter()
                .any(|r| r.id.eq_ignore_ascii_case(name) || r.in_category(name))
        };
        let names = self
            .except
            .iter()
            .chain(self.severity.keys())
            .chain(self.ignore_only.keys());
        for name in names {
            if !known(name) {
                return Err(InputError::new(format!(
                    "[openapi]: unknown rule id or family `{name}`"
                )));
            }
        }
        for rule in self.severity.keys() {
            self.severity_for(rule)?;
        }
        Ok(())
    }
}

/// `GET /pets/{id}` matches that operation; `/pets` matches every operation
/// on `/pets` and below; a method is compared case-insensitively.
fn operation_matches(entry: &str, scope: &str) -> bool {
    let split = |s: &str| match s.split_once(' ') {
        Some((method, path)) if !method.starts_with('/') => {
            (Some(method.to_ascii_uppercase()), path.to_string())
        }
        _ => (None, s.to_string()),
    };
    let (entry_method, entry_path) = split(entry.trim());
    let (scope_method, scope_path) = split(scope.trim());
    if entry_method.is_some() && entry_method != scope_method {
        return false;
    }
    if entry_method.is_some() {
        return entry_path == scope_path;
    }
    let prefix = entry_path.trim_end_matches('/');
    scope_path == prefix
        || scope_path.starts_with(&format!("{prefix}/"))
        || scope_path == entry_path
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// No configuration file was found: defaults apply.
    Default,
    Contractor,
    BufV1,
    BufV2,
}

/// A configuration together with where it came from.
#[derive(Debug, Clone)]
pub struct Config {
    pub breaking: BreakingConfig,
    pub openapi: OpenapiConfig,
    pub avro: AvroConfig,
    pub graphql: GraphqlConfig,
    pub kind: ConfigKind,
    /// The file it was read from.
    pub path: Option<PathBuf>,
    /// The directory `ignore` paths are relative to.
    pub base_dir: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractorToml {
    #[serde(default)]
    breaking: BreakingConfig,
    #[serde(default)]
    openapi: OpenapiConfig,
    #[serde(default)]
    avro: AvroConfig,
    #[serde(default)]
    graphql: GraphqlConfig,
}

/// The parts of a buf.yaml we read; everything else in it is ignored.
#[derive(Deserialize)]
struct BufYaml {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    breaking: Option<BreakingConfig>,
    #[serde(default)]
    modules: Vec<BufModule>,
}

#[derive(Deserialize)]
struct BufModule {
    path: String,
    #[serde(default)]
    breaking: Option<BreakingConfig>,
}

impl Config {
    pub fn default_in(base_dir: PathBuf) -> Self {
        Self {
            breaking: BreakingConfig::default(),
            openapi: OpenapiConfig::default(),
            avro: AvroConfig::default(),
            graphql: GraphqlConfig::default(),
            kind: ConfigKind::Default,
            path: None,
            base_dir,
        }
    }

    /// Reads an explicit `--config` file (`contractor.toml` or `buf.yaml` by extension).
    /// `target` is the new contract's root, used to pick a buf v2 module.
    pub fn load_file(path: &Path, target: &Path) -> Result<Self, InputError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            InputError::in_file(&display, format!("cannot read configuration: {e}"))
        })?;
        let base_dir = absolute(path.parent().unwrap_or(Path::new(".")));
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if is_yaml {
            parse_buf_yaml(&text, &display, base_dir, &absolute(target)).map(|c| Config {
                path: Some(path.into()),
                ..c
            })
        } else {
            let parsed: ContractorToml = toml::from_str(&text).map_err(|e| {
                let position = e
                    .span()
                    .map(|s| SourceText::new(text.as_str()).position(s.start));
                let message = e.message().to_string();
                match position {
                    Some(p) => InputError::at(&display, p, message),
                    None => InputError::in_file(&display, message),
                }
            })?;
            Ok(Config {
                breaking: parsed.breaking,
                openapi: parsed.openapi,
                avro: parsed.avro,
                graphql: parsed.graphql,
                kind: ConfigKind::Contractor,
                path: Some(path.into()),
                base_dir,
            })
        }
    }

    /// Finds the configuration for a contract at `target`: the nearest
    /// `contractor.toml` in `target`'s directory or an ancestor, else in the
    /// working directory; failing that, the nearest `buf.yaml` the same way.
    pub fn discover(target: &Path) -> Result<Self, InputError> {
        let target = absolute(target);
        let start = if target.is_dir() {
            target.clone()
        } else {
            target.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let cwd = absolute(Path::new("."));
        let candidates: Vec<&Path> = start
            .ancestors()
            .chain(std::iter::once(cwd.as_path()))
            .collect();
        for name in [CONFIG_FILE, "buf.yaml"] {
            if let Some(found) = candidates
                .iter()
                .map(|d| d.join(name))
                .find(|p| p.is_file())
            {
                return Self::load_file(&found, &target);
            }
        }
        Ok(Self::default_in(cwd))
    }

    /// The rules to run: `use` (or `categories_override`, from `--category`)
    /// minus `except`, in registry order. An unknown id or category is an error.
    pub fn select<'r>(
        &self,
        registry: &'r [RuleInfo],
        categories_override: &[String],
        default_category: &str,
    ) -> Result<Vec<&'r RuleInfo>, InputError> {
        let from_flag = !categories_override.is_empty();
        let uses: Vec<String> = if from_flag {
            categories_override.to_vec()
        } else if self.breaking.use_.is_empty() {
            vec![default_category.to_string()]
        } else {
            self.breaking.use_.clone()
        };
        let mut selected = BTreeSet::new();
        for name in &uses {
            let ids = self.expand(registry, name, !from_flag)?;
            if from_flag && ids.len() == 1 && registry.iter().any(|r| r.id == name.as_str()) {
                // `--category` takes categories; a rule id there is almost certainly a typo'd flag.
                return Err(InputError::new(format!(
                    "`{name}` is a rule id, not a category; use `except`/`use` in the configuration to pick single rules"
                )));
            }
            selected.extend(ids);
        }
        for name in &self.breaking.except {
            for id in self.expand(registry, name, true)? {
                selected.remove(id);
            }
        }
        Ok(registry
            .iter()
            .filter(|r| selected.contains(r.id))
            .collect())
    }

    fn expand<'r>(
        &self,
        registry: &'r [RuleInfo],
        name: &str,
        allow_ids: bool,
    ) -> Result<Vec<&'r str>, InputError> {
        if allow_ids && let Some(rule) = registry.iter().find(|r| r.id.eq_ignore_ascii_case(name)) {
            return Ok(vec![rule.id]);
        }
        let ids: Vec<&str> = registry
            .iter()
            .filter(|r| r.in_category(name))
            .map(|r| r.id)
            .collect();
        if ids.is_empty() {
            let mut categories: Vec<&str> = registry
                .iter()
                .flat_map(|r| r.categories.iter().copied())
                .collect();
            categories.sort_unstable();
            categories.dedup();
            let what = if allow_ids {
                "rule id or category"
            } else {
                "category"
            };
            let origin = self
                .path
                .as_ref()
                .map(|p| format!(" (in {})", p.display()))
                .unwrap_or_default();
            return Err(InputError::new(format!(
                "unknown {what} `{name}`{origin}; categories are {}",
                categories.join(", ")
            )));
        }
        Ok(ids)
    }

    /// Whether a finding of `rule` in the file at `file` (a filesystem path) is ignored.
    pub fn is_ignored(&self, rule: &RuleInfo, file: &Path) -> bool {
        let file = absolute(file);
        let under = |paths: &[String]| {
            paths
                .iter()
                .any(|p| file.starts_with(normalize(&self.base_dir.join(p))))
        };
        if under(&self.breaking.ignore) {
            return true;
        }
        self.breaking.ignore_only.iter().any(|(key, paths)| {
            (key.eq_ignore_ascii_case(rule.id) || rule.in_category(key)) && under(paths)
        })
    }
}

fn parse_buf_yaml(
    text: &str,
    display: &str,
    base_dir: PathBuf,
    target: &Path,
) -> Result<Config, InputError> {
    let parsed: BufYaml = serde_saphyr::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message.lines().next().unwrap_or("invalid YAML").to_string();
        match e.location() {
            Some(l) => InputError::at(
                display,
                Position::new(l.line() as u32, l.column() as u32),
                message,
            ),
            None => InputError::in_file(display, message),
        }
    })?;
    let kind = match parsed.version.as_deref() {
        Some("v2") => ConfigKind::BufV2,
        Some("v1" | "v1beta1") | None => ConfigKind::BufV1,
        Some(other) => {
            return Err(InputError::in_file(
                display,
                format!("unsupported buf.yaml version `{other}`"),
            ));
        }
    };
    // In a v2 workspace a module's own `breaking` wins over the top-level one.
    let module = parsed
        .modules
        .into_iter()
        .filter(|m| target.starts_with(normalize(&base_dir.join(&m.path))))
        .max_by_key(|m| m.path.len())
        .and_then(|m| m.breaking);
    let breaking = module.or(parsed.breaking).unwrap_or_default();
    Ok(Config {
        breaking,
        openapi: OpenapiConfig::default(),
        avro: AvroConfig::default(),
        graphql: GraphqlConfig::default(),
        kind,
        path: None,
        base_dir,
    })
}

/// An absolute, lexically normalized path (no filesystem access, so paths that
/// exist only in git objects work too).
pub fn absolute(path: &Path) -> PathBuf {
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &[RuleInfo] = &[
        RuleInfo {
            id: "A_NO_DELETE",
            categories: &["FILE", "PACKAGE"],
            default: true,
            deprecated: false,
            purpose: "",
        },
        RuleInfo {
            id: "B_SAME",
            categories: &["FILE", "WIRE"],
            default: true,
            deprecated: false,
            purpose: "",
        },
        RuleInfo {
            id: "C_WIRE",
            categories: &["WIRE"],
            default: false,
            deprecated: false,
            purpose: "",
        },
    ];

    fn config(toml_text: &str) -> Config {
        let parsed: ContractorToml = toml::from_str(toml_text).unwrap();
        Config {
            breaking: parsed.breaking,
            openapi: parsed.openapi,
            avro: parsed.avro,
            graphql: parsed.graphql,
            kind: ConfigKind::Contractor,
            path: None,
            base_dir: PathBuf::from("/repo"),
        }
    }

    fn ids(rules: Vec<&RuleInfo>) -> Vec<&str> {
        rules.into_iter().map(|r| r.id).collect()
    }

    #[test]
    fn default_category_then_use_and_except() {
        assert_eq!(
            ids(config("").select(REGISTRY, &[], "FILE").unwrap()),
            ["A_NO_DELETE", "B_SAME"]
        );
        let c = config("[breaking]\nuse = [\"WIRE\", \"A_NO_DELETE\"]\nexcept = [\"B_SAME\"]\n");
        assert_eq!(
            ids(c.select(REGISTRY, &[], "FILE").unwrap()),
            ["A_NO_DELETE", "C_WIRE"]
        );
    }

    #[test]
    fn category_flag_overrides_use_but_not_except() {
        let c = config("[breaking]\nuse = [\"FILE\"]\nexcept = [\"C_WIRE\"]\n");
        assert_eq!(
            ids(c.select(REGISTRY, &["wire".into()], "FILE").unwrap()),
            ["B_SAME"]
        );
    }

    #[test]
    fn unknown_names_are_errors() {
        let err = config("[breaking]\nuse = [\"NOPE\"]\n")
            .select(REGISTRY, &[], "FILE")
            .unwrap_err();
        assert!(
            err.message.contains("unknown rule id or category `NOPE`"),
            "{err}"
        );
        assert!(
            config("")
                .select(REGISTRY, &["A_NO_DELETE".into()], "FILE")
                .is_err()
        );
    }

    #[test]
    fn ignore_and_ignore_only_match_directories_and_files() {
        let c = config(
            "[breaking]\nignore = [\"legacy\"]\n[breaking.ignore_only]\nWIRE = [\"wire/x.proto\"]\n",
        );
        assert!(c.is_ignored(&REGISTRY[0], Path::new("/repo/legacy/a.proto")));
        assert!(!c.is_ignored(&REGISTRY[0], Path::new("/repo/legacyish/a.proto")));
        assert!(c.is_ignored(&REGISTRY[1], Path::new("/repo/wire/x.proto")));
        assert!(!c.is_ignored(&REGISTRY[0], Path::new("/repo/wire/x.proto")));
    }

    #[test]
    fn openapi_ignores_match_operations_and_path_prefixes() {
        assert!(operation_matches("GET /pets/{id}", "get /pets/{id}"));
        assert!(!operation_matches("GET /pets/{id}", "PUT /pets/{id}"));
        assert!(operation_matches("/pets", "DELETE /pets/{id}"));
        assert!(operation_matches("/pets/", "GET /pets"));
        assert!(!operation_matches("/pets", "GET /petstore"));
        let c = config(
            "[openapi]\nseverity = { \"A_NO_DELETE\" = \"warning\" }\nexcept = [\"WIRE\"]\n",
        );
        assert_eq!(
            c.openapi.severity_for("A_NO_DELETE").unwrap(),
            Some(crate::Severity::Warning)
        );
        assert!(!c.openapi.is_selected(&REGISTRY[2]));
        assert!(c.openapi.check(REGISTRY).is_ok());
        let bad = config("[openapi]\nseverity = { \"A_NO_DELETE\" = \"fatal\" }\n");
        assert!(bad.openapi.check(REGISTRY).is_err());
    }

    #[test]
    fn buf_yaml_v1_and_v2_modules() {
        let v1 = "version: v1\nbreaking:\n  use:\n    - WIRE\n  ignore:\n    - foo\n";
        let c = parse_buf_yaml(v1, "buf.yaml", "/r".into(), Path::new("/r")).unwrap();
        assert_eq!(c.kind, ConfigKind::BufV1);
        assert_eq!(c.breaking.use_, ["WIRE"]);
        let v2 = "version: v2\nmodules:\n  - path: proto\n    breaking:\n      use: [PACKAGE]\n  - path: other\nbreaking:\n  use: [FILE]\nlint:\n  use: [STANDARD]\n";
        let c = parse_buf_yaml(v2, "buf.yaml", "/r".into(), Path::new("/r/proto")).unwrap();
        assert_eq!(c.breaking.use_, ["PACKAGE"]);
        let c = parse_buf_yaml(v2, "buf.yaml", "/r".into(), Path::new("/r/other")).unwrap();
        assert_eq!(c.breaking.use_, ["FILE"]);
    }

    #[test]
    fn bad_config_reports_line_and_column() {
        let dir =
            std::env::temp_dir().join(format!("contractor-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(CONFIG_FILE);
        std::fs::write(&path, "[breaking]\nuse = \"FILE\"\n").unwrap();
        let err = Config::load_file(&path, &dir).unwrap_err();
        assert_eq!(err.position, Some(Position::new(2, 7)), "{err}");
        std::fs::write(&path, "[breaking]\nusee = []\n").unwrap();
        assert!(
            Config::load_file(&path, &dir)
                .unwrap_err()
                .message
                .contains("usee")
        );
        let yaml = dir.join("buf.yaml");
        std::fs::write(&yaml, "version: v1\nbreaking:\n  use: [FILE\n").unwrap();
        let err = Config::load_file(&yaml, &dir).unwrap_err();
        assert!(err.position.is_some(), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
