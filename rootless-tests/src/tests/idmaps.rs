//! The user namespace of an unprivileged caller: its own id mapped
//! without any helper, several ranges through `newuidmap`/`newgidmap`
//! and the subordinate ids of `/etc/subuid`/`/etc/subgid`, and the
//! refusals when that cannot work.

use serde_json::json;

use crate::config;
use crate::harness::{ensure, proc_status, skip, Ctn, Ctx, TestResult, RUNTIME_TIMEOUT};
use crate::Test;

pub fn tests() -> Vec<Test> {
    vec![
        Test::new("idmaps", "own_id_without_helpers", own_id_without_helpers),
        Test::new(
            "idmaps",
            "subordinate_ids_through_newuidmap",
            subordinate_ids_through_newuidmap,
        ),
        Test::new(
            "idmaps",
            "missing_helper_is_an_error",
            missing_helper_is_an_error,
        ),
        Test::new(
            "idmaps",
            "ungranted_range_is_refused",
            ungranted_range_is_refused,
        ),
        Test::new("idmaps", "groups_need_newgidmap", groups_need_newgidmap),
    ]
}

/// A PATH without newuidmap/newgidmap: one mapping of the user's own ids
/// needs neither, and leaves `setgroups` denied (user_namespaces(7)).
fn own_id_without_helpers(ctx: &Ctx) -> TestResult {
    let script = "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id";
    let c = Ctn::new(ctx, "", &config::base(ctx, &["sh", "-c", script]))?;
    let b = c.bundle_str();
    let mut cmd = ctx.rt_cmd(&["run", "--bundle", &b, &c.id]);
    cmd.env("PATH", "/nonexistent");
    let out = ctx
        .exec(cmd, None, RUNTIME_TIMEOUT)?
        .ok("run without helpers in PATH")?;
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    let (uid, gid) = (ctx.user.uid.to_string(), ctx.user.gid.to_string());
    ensure(
        words.len() >= 7 && words[..7] == ["0", uid.as_str(), "1", "0", gid.as_str(), "1", "deny"],
        || {
            format!(
                "want maps of {uid}/{gid} and setgroups deny: {}",
                out.stdout
            )
        },
    )?;
    ensure(out.stdout.contains("uid=0(root) gid=0(root)"), || {
        format!("id: {}", out.stdout)
    })
}

/// Root and 65536 subordinate ids: the process runs as 1000 inside, which
/// the host sees as the subordinate id 999 past the first; supplementary
/// groups work (setgroups stays allowed with newgidmap).
fn subordinate_ids_through_newuidmap(ctx: &Ctx) -> TestResult {
    // The output goes to a file in the container's /tmp, read from outside.
    let script = "{ cat /proc/self/uid_map /proc/self/setgroups; id; } > /tmp/out; sleep 1000";
    let mut cfg = config::base(ctx, &["sh", "-c", script]);
    cfg["linux"]["uidMappings"] = config::sub_mappings(ctx.user.uid, ctx.user.subuid.0);
    cfg["linux"]["gidMappings"] = config::sub_mappings(ctx.user.gid, ctx.user.subgid.0);
    cfg["process"]["user"] = json!({"uid": 1000, "gid": 1000, "additionalGids": [1001]});
    let c = Ctn::new(ctx, "", &cfg)?;
    let log = c.bundle.join("rootfs/tmp/out");
    c.start_new()?;
    let pid = c.pid()?;
    let uid_want = (ctx.user.subuid.0 + 999).to_string();
    let ok = crate::harness::wait_until(std::time::Duration::from_secs(5), || {
        proc_status(pid, "Uid")
            .is_some_and(|u| u.split_whitespace().next() == Some(uid_want.as_str()))
    });
    ensure(ok, || {
        format!(
            "init uid outside: {:?}, want {uid_want}",
            proc_status(pid, "Uid")
        )
    })?;
    let groups = proc_status(pid, "Groups").unwrap_or_default();
    let want_group = (ctx.user.subgid.0 + 1000).to_string();
    ensure(groups.split_whitespace().any(|g| g == want_group), || {
        format!("groups outside {groups:?}, want {want_group}")
    })?;
    let mut text = String::new();
    crate::harness::wait_until(std::time::Duration::from_secs(5), || {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        text.contains("uid=")
    });
    let words: Vec<&str> = text.split_whitespace().collect();
    let (uid, sub) = (ctx.user.uid.to_string(), ctx.user.subuid.0.to_string());
    ensure(
        words.len() >= 7
            && words[..7] == ["0", uid.as_str(), "1", "1", sub.as_str(), "65536", "allow"],
        || format!("want both ranges and setgroups allow: {text}"),
    )?;
    ensure(text.contains("uid=1000") && text.contains("1001"), || {
        format!("id: {text}")
    })
}

/// Several ranges without newuidmap in PATH: create fails (naming the
/// helper, for cella) and leaves nothing.
fn missing_helper_is_an_error(ctx: &Ctx) -> TestResult {
    let mut cfg = config::base(ctx, &["true"]);
    cfg["linux"]["uidMappings"] = config::sub_mappings(ctx.user.uid, ctx.user.subuid.0);
    let c = Ctn::new(ctx, "", &cfg)?;
    let b = c.bundle_str();
    let mut cmd = ctx.rt_cmd(&["create", "--bundle", &b, &c.id]);
    cmd.env("PATH", "/nonexistent");
    let out = ctx.exec(cmd, None, RUNTIME_TIMEOUT)?;
    ensure(out.code != 0, || {
        format!("create succeeded without newuidmap: {}", out.describe())
    })?;
    if ctx.is_cella {
        ensure(
            out.stderr.contains("newuidmap") && out.stderr.contains("uidmap"),
            || format!("want the helper and its package named: {}", out.describe()),
        )?;
    }
    nothing_left(ctx, &c)
}

/// Subordinate ids the user was not granted: newuidmap refuses, and its
/// reason reaches the caller.
fn ungranted_range_is_refused(ctx: &Ctx) -> TestResult {
    if ctx.user.subuid.0 == 0 {
        return Err(skip("the user has no subordinate uids"));
    }
    let mut cfg = config::base(ctx, &["true"]);
    let beyond = ctx.user.subuid.0 + ctx.user.subuid.1;
    cfg["linux"]["uidMappings"] = config::sub_mappings(ctx.user.uid, beyond);
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.create_with(&[])?;
    ensure(out.code != 0, || {
        format!("create with ungranted ids succeeded: {}", out.describe())
    })?;
    if ctx.is_cella {
        ensure(
            out.stderr.contains("not allowed") && out.stderr.contains("/etc/subuid"),
            || {
                format!(
                    "want newuidmap's reason and /etc/subuid: {}",
                    out.describe()
                )
            },
        )?;
    }
    nothing_left(ctx, &c)
}

/// One gid mapping written by the runtime itself denies setgroups, so
/// supplementary groups are impossible: cella refuses the config.
fn groups_need_newgidmap(ctx: &Ctx) -> TestResult {
    let mut cfg = config::base(ctx, &["true"]);
    cfg["process"]["user"]["additionalGids"] = json!([0]);
    let c = Ctn::new(ctx, "", &cfg)?;
    let out = c.create_with(&[])?;
    ensure(out.code != 0, || {
        format!("create succeeded: {}", out.describe())
    })?;
    if ctx.is_cella {
        ensure(out.stderr.contains("process.user.additionalGids"), || {
            format!("want the field named: {}", out.describe())
        })?;
    }
    nothing_left(ctx, &c)
}

/// No state directory and no process of the container after a failure.
pub fn nothing_left(ctx: &Ctx, c: &Ctn<'_>) -> TestResult {
    let dir = ctx.state_root().join(&c.id);
    ensure(!dir.exists(), || {
        format!("{} left after a failed create", dir.display())
    })?;
    let list = ctx.rt_ok(&["list", "-q"])?;
    ensure(!list.stdout.lines().any(|l| l.trim() == c.id), || {
        format!("list still shows {}", c.id)
    })
}
