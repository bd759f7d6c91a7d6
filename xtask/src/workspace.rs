//! A pair of buf v2 workspaces (old and new) for `buf breaking`.
//!
//! Each side is `main/` (the files being compared) plus `deps/` (the googleapis
//! files they import). buf wants every import to come from a module of the
//! workspace, and it refuses two files with the same name, so `deps/` leaves out
//! every directory (package) that `main/` has.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::fsutil::{self, TempDir};

/// Which googleapis files go into `deps/`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Deps {
    /// All of googleapis but the compared packages, as a user would vendor it.
    All,
    /// Only what the compared files import, transitively. buf compiles and
    /// checks every module of a workspace, so this halves its run time; the
    /// files left out are identical on both sides and cannot change a finding.
    Imports,
}

pub struct Workspace {
    _dir: TempDir,
    pub old: PathBuf,
    pub new: PathBuf,
}

impl Workspace {
    /// `old_main` and `new_main` map module names to the files to copy.
    pub fn create(
        label: &str,
        old_main: &BTreeMap<String, PathBuf>,
        new_main: &BTreeMap<String, PathBuf>,
        googleapis: &Path,
        deps: Deps,
    ) -> Result<Self> {
        let dir = TempDir::new(label)?;
        let deps = dep_files(old_main, new_main, googleapis, deps)?;
        let old = dir.path().join("old");
        let new = dir.path().join("new");
        for (side, main) in [(&old, old_main), (&new, new_main)] {
            fsutil::copy_files(main, &side.join("main"))?;
            fsutil::copy_files(&deps, &side.join("deps"))?;
            std::fs::create_dir_all(side.join("deps"))?;
        }
        let ws = Self {
            _dir: dir,
            old,
            new,
        };
        ws.set_categories(&["FILE"])?;
        Ok(ws)
    }

    /// Writes buf.yaml on both sides with `breaking: use: categories`. buf takes
    /// the rules from the new side; the old side's file only declares its modules.
    pub fn set_categories(&self, categories: &[&str]) -> Result<()> {
        let mut yaml = String::from(
            "version: v2\nmodules:\n  - path: main\n  - path: deps\nbreaking:\n  use:\n",
        );
        for c in categories {
            yaml.push_str(&format!("    - {c}\n"));
        }
        fsutil::write(&self.old.join("buf.yaml"), &yaml)?;
        fsutil::write(&self.new.join("buf.yaml"), &yaml)
    }

    pub fn old_main(&self) -> PathBuf {
        self.old.join("main")
    }

    pub fn new_main(&self) -> PathBuf {
        self.new.join("main")
    }

    /// The include directory for contractor (identical on both sides).
    pub fn deps(&self) -> PathBuf {
        self.new.join("deps")
    }
}

fn dep_files(
    old_main: &BTreeMap<String, PathBuf>,
    new_main: &BTreeMap<String, PathBuf>,
    googleapis: &Path,
    deps: Deps,
) -> Result<BTreeMap<String, PathBuf>> {
    let all = fsutil::proto_files(googleapis)?;
    let main_dirs: BTreeSet<&str> = old_main
        .keys()
        .chain(new_main.keys())
        .map(|name| fsutil::module_dir(name))
        .collect();
    let available = |name: &str| !main_dirs.contains(fsutil::module_dir(name));
    match deps {
        Deps::All => Ok(all.into_iter().filter(|(n, _)| available(n)).collect()),
        Deps::Imports => {
            let mut wanted = BTreeMap::new();
            let mut queue: Vec<PathBuf> = old_main
                .values()
                .chain(new_main.values())
                .cloned()
                .collect();
            while let Some(file) = queue.pop() {
                for import in fsutil::imports(&fsutil::read(&file)?) {
                    // The well-known types are built into both tools.
                    if import.starts_with("google/protobuf/") || !available(&import) {
                        continue;
                    }
                    if let Some(path) = all.get(&import)
                        && !wanted.contains_key(&import)
                    {
                        wanted.insert(import, path.clone());
                        queue.push(path.clone());
                    }
                }
            }
            Ok(wanted)
        }
    }
}
