//! The dedicated unprivileged user the suite runs as: created with
//! `useradd` (which on Debian also grants it subordinate ids in
//! `/etc/subuid` and `/etc/subgid`), removed with `userdel` at the end,
//! together with every process it or its subordinate ids still run. Where
//! there are no shadow utilities (the cgroup v2 VM) the entries are written
//! here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A user made for this run.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// Login name (`cellart<pid>`).
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid (a group of its own).
    pub gid: u32,
    /// Its home directory, inside the suite's work directory.
    pub home: PathBuf,
    /// Its first subordinate uid and how many it has.
    pub subuid: (u32, u32),
    /// Its first subordinate gid and how many it has.
    pub subgid: (u32, u32),
    /// `/etc/subuid` or `/etc/subgid` when they did not exist before (they
    /// go again if empty at the end).
    made_files: Vec<&'static str>,
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The `(start, count)` ranges of `name` in an `/etc/subuid`-style file.
pub fn sub_ranges(file: &str, name: &str) -> Vec<(u32, u32)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            match f.as_slice() {
                [n, start, count] if *n == name => Some((start.parse().ok()?, count.parse().ok()?)),
                _ => None,
            }
        })
        .collect()
}

/// The first id after every range of the file (at least 100000, where
/// Debian's `SUB_UID_MIN` starts).
fn first_free(file: &str) -> u32 {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            let start: u64 = f.get(1)?.parse().ok()?;
            let count: u64 = f.get(2)?.parse().ok()?;
            Some(start + count)
        })
        .max()
        .unwrap_or(0)
        .clamp(100_000, u64::from(u32::MAX - 65536)) as u32
}

fn passwd_ids(name: &str) -> Option<(u32, u32)> {
    std::fs::read_to_string("/etc/passwd")
        .ok()?
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        })
        .flatten()
}

impl TestUser {
    /// Creates the user with its home at `home` (whose parent exists) and
    /// 65536 subordinate uids and gids. A name that exists already is an
    /// error: it is not ours to use or remove.
    pub fn create(name: &str, home: &Path) -> Result<TestUser, String> {
        if passwd_ids(name).is_some() {
            return Err(format!("user {name} exists already; not touching it"));
        }
        // useradd grants subordinate ids only into files that exist.
        let mut made_files = Vec::new();
        for file in ["/etc/subuid", "/etc/subgid"] {
            if !Path::new(file).exists() {
                std::fs::write(file, "").map_err(|e| format!("create {file}: {e}"))?;
                made_files.push(file);
            }
        }
        let home_s = home.to_string_lossy();
        if in_path("useradd") {
            run(
                "useradd",
                &[
                    "--create-home",
                    "--home-dir",
                    &home_s,
                    "--shell",
                    "/bin/sh",
                    "--user-group",
                    name,
                ],
            )?;
        } else {
            // No shadow utilities (the cgroup v2 VM's busybox has neither
            // useradd nor adduser): write the entries.
            add_entries(name, home)?;
        }
        let (uid, gid) = passwd_ids(name)
            .ok_or_else(|| format!("useradd made no /etc/passwd entry for {name}"))?;
        let mut user = TestUser {
            name: name.to_string(),
            uid,
            gid,
            home: home.to_path_buf(),
            subuid: (0, 0),
            subgid: (0, 0),
            made_files,
        };
        // Debian's useradd grants SUB_UID_COUNT ids by itself; elsewhere
        // (or with an empty count) grant them here.
        for (file, flag) in [
            ("/etc/subuid", "--add-subuids"),
            ("/etc/subgid", "--add-subgids"),
        ] {
            if sub_ranges(file, name).is_empty() {
                let start = first_free(file);
                let range = format!("{start}-{}", start + 65535);
                let added = if in_path("usermod") {
                    run("usermod", &[flag, &range, name])
                } else {
                    append_line(file, &format!("{name}:{start}:65536"))
                };
                if let Err(e) = added {
                    let _ = user.remove();
                    return Err(e);
                }
            }
        }
        let first = |file| sub_ranges(file, name).first().copied().unwrap_or((0, 0));
        user.subuid = first("/etc/subuid");
        user.subgid = first("/etc/subgid");
        Ok(user)
    }

    /// Whether `uid` (of a process on the host) is this user or one of its
    /// subordinate uids: the processes this user's containers run.
    pub fn owns_uid(&self, uid: u32) -> bool {
        uid == self.uid || (uid >= self.subuid.0 && uid - self.subuid.0 < self.subuid.1)
    }

    /// The pids of every live process running as this user or one of its
    /// subordinate uids (by the real uid of `/proc/<pid>/status`). Zombies
    /// are dead already: this machine's pid 1 reaps orphans only every few
    /// seconds.
    pub fn processes(&self) -> Vec<i32> {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| crate::harness::proc_uid(*pid).is_some_and(|u| self.owns_uid(u)))
            .filter(|pid| crate::harness::alive(*pid))
            .collect()
    }

    /// SIGKILLs every process of [`TestUser::processes`] until none is
    /// left (a dying process may fork once more); returns what was killed.
    pub fn kill_processes(&self) -> Vec<i32> {
        let mut killed = Vec::new();
        for _ in 0..50 {
            let left = self.processes();
            if left.is_empty() {
                break;
            }
            for pid in left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                if !killed.contains(&pid) {
                    killed.push(pid);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        killed
    }

    /// Kills its processes, then `userdel --remove` (home, mail spool);
    /// subordinate ids `userdel` left behind are removed with `usermod`.
    pub fn remove(&self) -> Result<(), String> {
        self.kill_processes();
        let removed = if in_path("userdel") {
            run("userdel", &["--remove", &self.name])
        } else {
            remove_line(
                "/etc/passwd",
                &passwd_line(&self.name, self.uid, self.gid, &self.home),
            )
            .and_then(|()| remove_line("/etc/group", &format!("{}:x:{}:", self.name, self.gid)))
        };
        removed.or_else(|e| {
            // userdel exits 12 when it cannot remove the home directory
            // (e.g. files of subordinate uids with odd modes): the user
            // itself is gone then, and the caller removes the tree.
            if passwd_ids(&self.name).is_none() {
                Ok(())
            } else {
                Err(e)
            }
        })?;
        for (file, flag) in [
            ("/etc/subuid", "--del-subuids"),
            ("/etc/subgid", "--del-subgids"),
        ] {
            for (start, count) in sub_ranges(file, &self.name) {
                // The user is gone, so usermod cannot name it: edit the file.
                remove_line(file, &format!("{}:{start}:{count}", self.name))
                    .map_err(|e| format!("{flag} {file}: {e}"))?;
            }
        }
        for file in &self.made_files {
            if std::fs::read_to_string(file).is_ok_and(|t| t.trim().is_empty()) {
                let _ = std::fs::remove_file(file);
            }
        }
        Ok(())
    }
}

fn passwd_line(name: &str, uid: u32, gid: u32, home: &Path) -> String {
    format!("{name}:x:{uid}:{gid}::{}:/bin/sh", home.display())
}

/// What `useradd --user-group --create-home` does, for a system without
/// it: the next free id from 2000 for both the user and its group.
fn add_entries(name: &str, home: &Path) -> Result<(), String> {
    let used = |file: &str| -> Vec<u32> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(':').nth(2)?.parse().ok())
            .collect()
    };
    let (users, groups) = (used("/etc/passwd"), used("/etc/group"));
    let id = (2000..60000)
        .find(|i| !users.contains(i) && !groups.contains(i))
        .ok_or("no free id")?;
    append_line("/etc/group", &format!("{name}:x:{id}:"))?;
    append_line("/etc/passwd", &passwd_line(name, id, id, home))?;
    std::fs::create_dir_all(home).map_err(|e| format!("mkdir {}: {e}", home.display()))?;
    std::os::unix::fs::chown(home, Some(id), Some(id))
        .map_err(|e| format!("chown {}: {e}", home.display()))
}

/// Whether `program` is in PATH.
fn in_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Appends a line to a file (made if missing).
fn append_line(file: &str, line: &str) -> Result<(), String> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .and_then(|mut f| writeln!(f, "{line}"))
        .map_err(|e| format!("{file}: {e}"))
}

/// Removes one exact line from a file (rewritten in place).
fn remove_line(file: &str, line: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let kept: String = text
        .lines()
        .filter(|l| l.trim() != line)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(file, kept).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_subordinate_ranges() {
        let dir = std::env::temp_dir().join(format!("rootless-tests-sub-{}", std::process::id()));
        std::fs::write(&dir, "a:100000:65536\nb:165536:65536\na:300000:10\n").unwrap();
        let f = dir.to_str().unwrap();
        assert_eq!(sub_ranges(f, "a"), [(100000, 65536), (300000, 10)]);
        assert_eq!(sub_ranges(f, "c"), []);
        assert_eq!(first_free(f), 300010);
        remove_line(f, "a:300000:10").unwrap();
        assert_eq!(sub_ranges(f, "a"), [(100000, 65536)]);
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(first_free("/nonexistent"), 100000);
    }
}
