//! Small file-system helpers: scratch directories, copying and listing `.proto` files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};

/// A scratch directory under the system temp dir, removed when dropped.
/// (Hand-rolled so that xtask needs no `tempfile` crate.)
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "contractor-xtask-{}-{label}-{n}",
            std::process::id()
        ));
        // A left-over from a crashed run with the same pid would only confuse buf.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every `.proto` file under `root`, keyed by its name inside the module
/// (`google/pubsub/v1/pubsub.proto`, always with `/`), sorted.
pub fn proto_files(root: &Path) -> Result<BTreeMap<String, PathBuf>> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) -> Result<()> {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let module_name = format!("{prefix}{name}");
            if entry.file_type()?.is_dir() {
                walk(&path, &format!("{module_name}/"), out)?;
            } else if name.ends_with(".proto") {
                out.insert(module_name, path);
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(root, "", &mut out)?;
    Ok(out)
}

/// Copies `files` (module name -> source path) under `dest`, keeping module names.
pub fn copy_files<'a>(
    files: impl IntoIterator<Item = (&'a String, &'a PathBuf)>,
    dest: &Path,
) -> Result<()> {
    for (name, src) in files {
        let to = dest.join(name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::copy(src, &to)
            .with_context(|| format!("cannot copy {} to {}", src.display(), to.display()))?;
    }
    Ok(())
}

pub fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The directory part of a module name (`google/pubsub/v1` for `google/pubsub/v1/pubsub.proto`).
pub fn module_dir(name: &str) -> &str {
    name.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// The `import "…";` targets of a .proto source. A line scan is enough for the
/// corpus, where every import sits on a line of its own.
pub fn imports(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("import")?;
            let rest = rest.trim_start();
            let rest = rest
                .strip_prefix("public")
                .or_else(|| rest.strip_prefix("weak"))
                .unwrap_or(rest);
            let rest = rest.trim_start().strip_prefix('"')?;
            rest.split_once('"').map(|(name, _)| name.to_string())
        })
        .collect()
}
