//! Reading a contract as it was at a git revision, straight from git's object
//! store (`git ls-tree` and `git cat-file --batch`): the checkout is never touched.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use contractor_core::InputError;

/// The contract at `path` (a file or directory in a git work tree) as of `rev`.
pub struct Snapshot {
    /// Name inside the snapshot root -> text.
    pub files: BTreeMap<String, String>,
    /// `REV:path/in/repo/` for messages.
    pub display_prefix: String,
    pub is_file: bool,
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, InputError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| InputError::new(format!("cannot run git: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(InputError::new(format!(
            "git {}: {}",
            args.join(" "),
            stderr.trim()
        )));
    }
    Ok(output.stdout)
}

/// Reads every file under `path` (or `path` itself) at `rev`, keeping those
/// for which `wanted` says yes.
pub fn snapshot(
    path: &Path,
    rev: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<Snapshot, InputError> {
    let abs = contractor_core::config::absolute(path);
    let dir = if abs.is_dir() {
        abs.clone()
    } else {
        abs.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let top = git(&dir, &["rev-parse", "--show-toplevel"]).map_err(|_| {
        InputError::in_file(
            path.display().to_string(),
            "not inside a git work tree (needed for --against)",
        )
    })?;
    let top = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let top = std::fs::canonicalize(&top).unwrap_or(top);
    let canonical = std::fs::canonicalize(&abs).unwrap_or(abs.clone());
    let rel = canonical
        .strip_prefix(&top)
        .map_err(|_| {
            InputError::in_file(path.display().to_string(), "is outside the git work tree")
        })?
        .to_string_lossy()
        .replace('\\', "/");
    let commit = format!("{rev}^{{commit}}");
    git(&top, &["rev-parse", "--verify", "--quiet", &commit])
        .map_err(|_| InputError::new(format!("unknown git revision `{rev}`")))?;

    let is_file = !abs.is_dir();
    let listing = git(
        &top,
        &[
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            "--name-only",
            rev,
            "--",
            if rel.is_empty() { "." } else { &rel },
        ],
    )?;
    let mut repo_paths: Vec<String> = listing
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    if is_file {
        repo_paths.retain(|p| *p == rel);
    } else {
        let prefix = if rel.is_empty() {
            String::new()
        } else {
            format!("{rel}/")
        };
        repo_paths.retain(|p| p.starts_with(&prefix) && wanted(&p[prefix.len()..]));
    }
    if repo_paths.is_empty() {
        return Err(InputError::new(format!(
            "`{rel}` does not exist (or holds no contract files) at `{rev}`"
        )));
    }
    let blobs = cat_files(&top, rev, &repo_paths)?;
    let mut files = BTreeMap::new();
    for (repo_path, text) in repo_paths.iter().zip(blobs) {
        let name = if is_file {
            repo_path
                .rsplit('/')
                .next()
                .unwrap_or(repo_path)
                .to_string()
        } else if rel.is_empty() {
            repo_path.clone()
        } else {
            repo_path[rel.len() + 1..].to_string()
        };
        let text = String::from_utf8(text).map_err(|_| {
            InputError::in_file(format!("{rev}:{repo_path}"), "file is not valid UTF-8")
        })?;
        files.insert(name, text);
    }
    let display_prefix = if is_file {
        format!(
            "{rev}:{}",
            rel.rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default()
        )
    } else if rel.is_empty() {
        format!("{rev}:")
    } else {
        format!("{rev}:{rel}/")
    };
    Ok(Snapshot {
        files,
        display_prefix,
        is_file,
    })
}

/// Reads many blobs through one `git cat-file --batch` process.
fn cat_files(top: &Path, rev: &str, paths: &[String]) -> Result<Vec<Vec<u8>>, InputError> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| InputError::new(format!("cannot run git: {e}")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| InputError::new("git cat-file: no stdin"))?;
    let requests: String = paths.iter().map(|p| format!("{rev}:{p}\n")).collect();
    // Feed requests from a thread so a large batch cannot deadlock on full pipes.
    let writer = std::thread::spawn(move || stdin.write_all(requests.as_bytes()));
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| InputError::new("git cat-file: no stdout"))?;
    let mut reader = BufReader::new(stdout);
    let mut blobs = Vec::with_capacity(paths.len());
    for path in paths {
        let mut header = String::new();
        reader
            .read_line(&mut header)
            .map_err(|e| InputError::new(format!("git cat-file: {e}")))?;
        let size: usize = header
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|_| !header.ends_with("missing\n"))
            .ok_or_else(|| InputError::new(format!("git cat-file: cannot read `{rev}:{path}`")))?;
        let mut blob = vec![0; size + 1];
        reader
            .read_exact(&mut blob)
            .map_err(|e| InputError::new(format!("git cat-file: {e}")))?;
        blob.pop();
        blobs.push(blob);
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(blobs)
}
