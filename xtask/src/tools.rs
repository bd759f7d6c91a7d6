//! Locating and running the two tools under comparison, `contractor` and `buf`,
//! and reducing their reports to comparable findings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

/// The four categories the parity checks run at, strictest first.
pub const CATEGORIES: [&str; 4] = ["FILE", "PACKAGE", "WIRE_JSON", "WIRE"];

/// Where things are.
pub struct Paths {
    /// The cargo workspace root (/work/main).
    pub root: PathBuf,
    /// `../shared/corpus/proto`.
    pub corpus: PathBuf,
    /// Cargo's target directory, for build products we keep (target/mutants).
    pub target: PathBuf,
}

impl Paths {
    /// `None` when the shared corpus is not checked out next to the workspace.
    pub fn find() -> Option<Self> {
        let paths = Self::workspace();
        paths
            .corpus
            .parent()
            .is_some_and(Path::is_dir)
            .then_some(paths)
    }

    /// The workspace's paths, whether or not the corpus exists (for commands that need
    /// only part of it).
    pub fn workspace() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        Self {
            corpus: root.join("../shared/corpus/proto"),
            root,
            target,
        }
    }

    pub fn googleapis(&self) -> PathBuf {
        self.corpus.join("googleapis")
    }

    pub fn version(&self, name: &str) -> PathBuf {
        self.corpus.join("versions").join(name)
    }
}

/// One breaking-change finding reduced to what both tools report the same way:
/// the rule id, the file's name inside the module ("" when the tool gives no
/// file, i.e. for deleted files and packages) and the start line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub rule: String,
    pub file: String,
    pub line: u64,
    /// Not compared: wording differs between the tools.
    pub message: String,
    /// buf's findings are all breaking; contractor's may be `info` where it
    /// deliberately disagrees with buf (a same-shape message rename).
    pub breaking: bool,
}

impl Finding {
    fn key(&self) -> (&str, &str, u64) {
        (&self.rule, &self.file, self.line)
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let file = if self.file.is_empty() {
            "<no file>"
        } else {
            &self.file
        };
        write!(f, "{} {}:{} {}", self.rule, file, self.line, self.message)
    }
}

/// The outcome of comparing two multisets of findings.
#[derive(Debug, Default)]
pub struct Comparison {
    pub matched: usize,
    /// Of `matched`, those contractor reports without failing (documented
    /// deviations: same place and rule, but not breaking).
    pub matched_not_breaking: usize,
    pub only_contractor: Vec<Finding>,
    pub only_buf: Vec<Finding>,
}

impl Comparison {
    pub fn agrees(&self) -> bool {
        self.only_contractor.is_empty() && self.only_buf.is_empty()
    }
}

/// Multiset comparison on (rule, file, line): each finding matches at most one
/// finding of the other tool.
pub fn compare(contractor: &[Finding], buf: &[Finding]) -> Comparison {
    type Group<'a> = (Vec<&'a Finding>, Vec<&'a Finding>);
    let mut groups: BTreeMap<(&str, &str, u64), Group<'_>> = BTreeMap::new();
    for f in contractor {
        groups.entry(f.key()).or_default().0.push(f);
    }
    for f in buf {
        groups.entry(f.key()).or_default().1.push(f);
    }
    let mut out = Comparison::default();
    for (ours, theirs) in groups.into_values() {
        let pairs = ours.len().min(theirs.len());
        out.matched += pairs;
        out.matched_not_breaking += ours.iter().take(pairs).filter(|f| !f.breaking).count();
        if ours.len() == theirs.len() {
            continue;
        }
        // Only the count differs. Which findings are reported as left over does
        // not change the figures, but it is what a reader looks at: findings
        // without a file (deleted files and packages) all share the key
        // (rule, "", 1), so pair up those naming the same element first.
        let mut used_ours = vec![false; ours.len()];
        let mut used_theirs = vec![false; theirs.len()];
        let mut paired = 0;
        for (j, b) in theirs.iter().enumerate() {
            if let Some(i) = (0..ours.len()).find(|&i| !used_ours[i] && same_subject(ours[i], b)) {
                used_ours[i] = true;
                used_theirs[j] = true;
                paired += 1;
            }
        }
        for used in used_ours.iter_mut().filter(|u| !**u) {
            if paired == pairs {
                break;
            }
            if let Some(j) = used_theirs.iter().position(|u| !u) {
                *used = true;
                used_theirs[j] = true;
                paired += 1;
            }
        }
        let left = |fs: &[&Finding], used: &[bool]| -> Vec<Finding> {
            fs.iter()
                .zip(used)
                .filter(|(_, u)| !**u)
                .map(|(f, _)| (*f).clone())
                .collect()
        };
        out.only_contractor.extend(left(&ours, &used_ours));
        out.only_buf.extend(left(&theirs, &used_theirs));
    }
    out
}

/// Whether a contractor finding names what a buf finding names: buf quotes the
/// element's names (`message "Foo" … package "a.b"`), contractor spells them
/// out (`message a.b.Foo …`).
fn same_subject(ours: &Finding, theirs: &Finding) -> bool {
    let mut quoted = theirs.message.split('"').skip(1).step_by(2).peekable();
    quoted.peek().is_some() && quoted.all(|q| ours.message.contains(q))
}

fn describe_failure(what: &str, out: &Output) -> anyhow::Error {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let detail = if stderr.trim().is_empty() {
        stdout.trim()
    } else {
        stderr.trim()
    };
    anyhow!("{what} exited with {}: {detail}", out.status)
}

// ---------------------------------------------------------------- contractor

pub struct Contractor {
    pub exe: PathBuf,
}

/// What `contractor diff` said.
pub enum ContractorOutcome {
    Findings(Vec<Finding>),
    /// Exit 2: the input did not compile (or was otherwise rejected).
    BadInput(String),
}

impl Contractor {
    /// Builds the release binary with cargo and returns it. The path comes from
    /// cargo's own build messages, so CARGO_TARGET_DIR and friends are honoured.
    pub fn build(paths: &Paths) -> Result<Self> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("building contractor (cargo build --release --bin contractor)…");
        let out = Command::new(cargo)
            .current_dir(&paths.root)
            .args([
                "build",
                "--release",
                "--bin",
                "contractor",
                "--message-format=json-render-diagnostics",
            ])
            .stderr(std::process::Stdio::inherit())
            .output()
            .context("cannot run cargo")?;
        if !out.status.success() {
            bail!("cargo build --release --bin contractor failed");
        }
        let exe = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|msg| {
                msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "contractor"
            })
            .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
            .ok_or_else(|| anyhow!("cargo did not report the contractor executable"))?;
        Ok(Self { exe })
    }

    /// Runs `contractor diff OLD NEW EXTRA… --format json`: its exit code (0 or 1) and JSON
    /// report, or what it said when it refused the input (exit 2). For the corpus sweeps of
    /// the formats whose findings are read as JSON values (GraphQL, Avro, AsyncAPI).
    pub fn diff_report(
        &self,
        old: &Path,
        new: &Path,
        extra: &[&str],
    ) -> Result<std::result::Result<(i32, Value), String>> {
        let out = Command::new(&self.exe)
            .arg("diff")
            .arg(old)
            .arg(new)
            .args(extra)
            .args(["--format", "json"])
            .output()
            .with_context(|| format!("cannot run {}", self.exe.display()))?;
        let code = out.status.code().unwrap_or(-1);
        if !matches!(code, 0 | 1) {
            return Ok(Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
        }
        let report = serde_json::from_slice(&out.stdout).context("contractor's JSON report")?;
        Ok(Ok((code, report)))
    }

    /// The command line of `contractor diff` (shared with the benchmark, which times it).
    pub fn diff_command(
        &self,
        old: &Path,
        new: &Path,
        includes: &[&Path],
        category: Option<&str>,
    ) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("diff").arg(old).arg(new);
        for dir in includes {
            cmd.arg("-I").arg(dir);
        }
        if let Some(category) = category {
            cmd.args(["--category", category]);
        }
        cmd.args(["--format", "json", "--color", "never"]);
        cmd
    }

    /// Runs `contractor diff OLD NEW -I … [--category CAT] --format json`.
    pub fn diff(
        &self,
        old: &Path,
        new: &Path,
        includes: &[&Path],
        category: Option<&str>,
    ) -> Result<ContractorOutcome> {
        let out = self
            .diff_command(old, new, includes, category)
            .output()
            .with_context(|| format!("cannot run {}", self.exe.display()))?;
        match out.status.code() {
            Some(0 | 1) => {}
            Some(2) => {
                let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Ok(ContractorOutcome::BadInput(stderr));
            }
            _ => return Err(describe_failure("contractor diff", &out)),
        }
        let report: Value = serde_json::from_slice(&out.stdout)
            .context("contractor diff printed something that is not JSON")?;
        let findings = report["findings"]
            .as_array()
            .ok_or_else(|| anyhow!("contractor's JSON report has no `findings` array"))?;
        findings
            .iter()
            .map(|f| {
                let location = &f["location"];
                let path = location["path"].as_str().unwrap_or("");
                Ok(Finding {
                    rule: str_field(f, "rule")?,
                    file: module_name(Path::new(path), new, old),
                    line: location["start_line"].as_u64().unwrap_or(0),
                    message: f["message"].as_str().unwrap_or("").to_string(),
                    breaking: f["severity"].as_str() == Some("error"),
                })
            })
            .collect::<Result<_>>()
            .map(ContractorOutcome::Findings)
    }
}

fn str_field(v: &Value, key: &str) -> Result<String> {
    v[key]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("finding without `{key}`: {v}"))
}

/// contractor reports NEW joined with the file's module name, or OLD's file for
/// deleted files and packages, where buf gives no path at all: map both to
/// buf's view (the module name, or "").
fn module_name(path: &Path, new: &Path, old: &Path) -> String {
    let slashed = |p: &Path| {
        p.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };
    if let Ok(rest) = path.strip_prefix(new) {
        slashed(rest)
    } else if path.strip_prefix(old).is_ok() {
        String::new()
    } else {
        // Unexpected: keep it whole so that it shows up as a difference.
        path.display().to_string()
    }
}

// ----------------------------------------------------------------------- buf

pub struct Buf {
    pub exe: PathBuf,
    pub version: String,
    /// A private BUF_CACHE_DIR, so that runs neither read nor pollute ~/.cache/buf.
    cache: crate::fsutil::TempDir,
    /// Pass `--exclude-imports`: check only the compared module's own files, as
    /// contractor does. By default buf also reports imported files (even the
    /// well-known types) as deleted once nothing imports them any more.
    exclude_imports: bool,
}

/// What `buf breaking` said.
pub enum BufOutcome {
    Findings(Vec<Finding>),
    /// buf could not compile one side; the message of the first error.
    DoesNotCompile(String),
}

impl Buf {
    /// Finds buf: $CONTRACTOR_BUF, else `buf` on PATH, else the npm install under
    /// ~/.cache/contractor-peers. `Ok(None)` if there is none.
    pub fn find() -> Result<Option<Self>> {
        let explicit = std::env::var_os("CONTRACTOR_BUF").filter(|v| !v.is_empty());
        let found = if let Some(path) = explicit {
            let path = PathBuf::from(path);
            if !path.is_file() {
                bail!("CONTRACTOR_BUF={} is not a file", path.display());
            }
            Some(path)
        } else {
            on_path("buf").or_else(|| {
                let home = std::env::var_os("HOME")?;
                let npm =
                    Path::new(&home).join(".cache/contractor-peers/buf/node_modules/.bin/buf");
                npm.is_file().then_some(npm)
            })
        };
        let Some(found) = found else {
            return Ok(None);
        };
        let exe = native_buf(&found).unwrap_or(found);
        let out = Command::new(&exe)
            .arg("--version")
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        if !out.status.success() {
            return Err(describe_failure("buf --version", &out));
        }
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Ok(Some(Self {
            exe,
            version,
            cache: crate::fsutil::TempDir::new("buf-cache")?,
            exclude_imports: false,
        }))
    }

    /// The same buf, run with `--exclude-imports`.
    pub fn excluding_imports(self) -> Self {
        Self {
            exclude_imports: true,
            ..self
        }
    }

    /// The command line of `buf breaking` run inside workspace `new` against `old`.
    /// The categories come from the workspace's buf.yaml.
    pub fn breaking_command(&self, new: &Path, old: &Path) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.current_dir(new)
            .args(["breaking", ".", "--against"])
            .arg(old)
            .args(["--error-format", "json"])
            .args(self.exclude_imports.then_some("--exclude-imports"))
            .env("BUF_TELEMETRY", "0")
            .env("BUF_CACHE_DIR", self.cache.path());
        cmd
    }

    /// Runs `buf breaking` inside workspace `new` (made by [`crate::workspace`])
    /// against workspace `old`.
    pub fn breaking(&self, new: &Path, old: &Path) -> Result<BufOutcome> {
        let out = self
            .breaking_command(new, old)
            .output()
            .with_context(|| format!("cannot run {}", self.exe.display()))?;
        // 0: clean, 100: findings (compile errors come as findings of type COMPILE).
        if !matches!(out.status.code(), Some(0 | 100)) {
            return Err(describe_failure("buf breaking", &out));
        }
        let mut findings = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .with_context(|| format!("buf printed a line that is not JSON: {line}"))?;
            let rule = str_field(&v, "type")?;
            let message = v["message"].as_str().unwrap_or("").to_string();
            if rule == "COMPILE" {
                let path = v["path"].as_str().unwrap_or("");
                let line = v["start_line"].as_u64().unwrap_or(0);
                return Ok(BufOutcome::DoesNotCompile(format!(
                    "{path}:{line}: {message}"
                )));
            }
            // buf prints paths relative to the workspace, so `main/` plus the
            // module name; no path for deleted files and packages.
            let path = v["path"].as_str().unwrap_or("");
            let file = path.strip_prefix("main/").unwrap_or(path).to_string();
            findings.push(Finding {
                rule,
                file,
                line: v["start_line"].as_u64().unwrap_or(0),
                message,
                breaking: true,
            });
        }
        Ok(BufOutcome::Findings(findings))
    }

    /// buf's own rule table: rule id -> categories.
    pub fn rule_categories(&self) -> Result<Vec<(String, Vec<String>)>> {
        let out = Command::new(&self.exe)
            .args([
                "config",
                "ls-breaking-rules",
                "--format",
                "json",
                "--version",
                "v2",
            ])
            .env("BUF_TELEMETRY", "0")
            .env("BUF_CACHE_DIR", self.cache.path())
            .output()
            .with_context(|| format!("cannot run {}", self.exe.display()))?;
        if !out.status.success() {
            return Err(describe_failure("buf config ls-breaking-rules", &out));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let v: Value = serde_json::from_str(line)
                    .with_context(|| format!("unexpected rule line from buf: {line}"))?;
                let categories = v["categories"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok((str_field(&v, "id")?, categories))
            })
            .collect()
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The npm package's `bin/buf` is a Node.js launcher that starts the real Go
/// binary from a platform package next to it. Calling that binary directly
/// saves Node's start-up (~0.1 s) on every run, which would otherwise dominate
/// the mutation test and unfairly slow buf down in the benchmark.
fn native_buf(launcher: &Path) -> Option<PathBuf> {
    let head = std::fs::read(launcher).ok()?;
    let first_line = head.split(|&b| b == b'\n').next()?;
    if !(first_line.starts_with(b"#!") && first_line.windows(4).any(|w| w == b"node")) {
        return None;
    }
    let platform = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-aarch64",
        ("macos", "x86_64") => "darwin-x64",
        ("macos", "aarch64") => "darwin-arm64",
        _ => return None,
    };
    // node_modules/.bin/buf -> node_modules/@bufbuild/buf/bin/buf
    let real = launcher.canonicalize().ok()?;
    let bufbuild = real.parent()?.parent()?.parent()?;
    let native = bufbuild.join(format!("buf-{platform}/bin/buf"));
    native.is_file().then_some(native)
}

/// `~/.cache/contractor-peers/<name>` when `marker` exists inside it: where `.ci/run` installs
/// the peer tools the corpus sweeps compare with.
pub fn peer_dir(name: &str, marker: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let dir = Path::new(&home).join(".cache/contractor-peers").join(name);
    dir.join(marker).exists().then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(rule: &str, file: &str, line: u64) -> Finding {
        Finding {
            rule: rule.into(),
            file: file.into(),
            line,
            message: format!("{rule} message"),
            breaking: true,
        }
    }

    #[test]
    fn compare_is_a_multiset_comparison() {
        let ours = [f("A", "x.proto", 3), f("A", "x.proto", 3), f("B", "", 1)];
        let theirs = [f("A", "x.proto", 3), f("B", "", 1), f("C", "x.proto", 9)];
        let cmp = compare(&ours, &theirs);
        assert_eq!(cmp.matched, 2);
        assert_eq!(cmp.only_contractor, vec![f("A", "x.proto", 3)]);
        assert_eq!(cmp.only_buf, vec![f("C", "x.proto", 9)]);
        assert!(!cmp.agrees());
    }

    #[test]
    fn leftovers_without_a_file_are_the_unnamed_ones() {
        let deleted = |msg: &str| Finding {
            message: msg.into(),
            ..f("FILE_NO_DELETE", "", 1)
        };
        let ours = [deleted("file a/b.proto was deleted")];
        let theirs = [
            deleted("Previously present file \"a/a.proto\" was deleted."),
            deleted("Previously present file \"a/b.proto\" was deleted."),
        ];
        let cmp = compare(&ours, &theirs);
        assert_eq!(cmp.matched, 1);
        assert!(cmp.only_contractor.is_empty());
        assert_eq!(cmp.only_buf, vec![theirs[0].clone()]);
    }

    #[test]
    fn contractor_paths_become_module_names() {
        let (old, new) = (Path::new("/w/old/main"), Path::new("/w/new/main"));
        let name = |p: &str| module_name(Path::new(p), new, old);
        assert_eq!(
            name("/w/new/main/google/a/v1/a.proto"),
            "google/a/v1/a.proto"
        );
        assert_eq!(name("/w/old/main/google/a/v1/a.proto"), "");
        assert_eq!(name("/elsewhere/a.proto"), "/elsewhere/a.proto");
    }
}
