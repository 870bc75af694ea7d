//! `linux.netDevices` (config-linux.md "Network Devices", runtime-spec after 1.2.0): a host
//! device moves into the container's network namespace, renamed (a `%d` template numbered by
//! the kernel), with its permanent global addresses, up; a name taken inside is an error; the
//! runtime does not move it back on delete. A failed create leaves the host as it was
//! (runtime.md "Errors"): the device is back under its name with its address.
//!
//! Each test makes its own veth pair with `ip` (this host's kernel has no `dummy` module) and
//! removes what is left of it; a veth end in a namespace that dies is destroyed by the kernel
//! with its peer, so "gone after delete" is what not moving it back looks like. A runtime that
//! refuses the field passes `net_devices.moved` printing why only where the others need it
//! applied to mean anything; accepting it and dropping it fails.

use serde_json::{json, Value};

use crate::bundle::sh;
use crate::harness::{ensure, run_config, run_host, skip, Ctn, Ctx, TestResult};
use crate::Test;

pub fn tests() -> Vec<Test> {
    let t = Test::new;
    vec![
        t("net_devices", "moved", moved),
        t("net_devices", "template", template),
        t("net_devices", "name_taken_refused", name_taken_refused),
        t(
            "net_devices",
            "missing_device_refused",
            missing_device_refused,
        ),
        t(
            "net_devices",
            "failed_create_puts_back",
            failed_create_puts_back,
        ),
    ]
}

/// A veth pair made for one test: `dev` is the end the container gets, `peer` stays.
struct Veth {
    dev: String,
    peer: String,
}

impl Veth {
    fn new(ctx: &Ctx, tag: char) -> Result<Veth, String> {
        let n = ctx.pid % 100_000;
        let v = Veth {
            dev: format!("snd{n}{tag}"),
            peer: format!("snp{n}{tag}"),
        };
        run_host(&[
            "ip", "link", "add", &v.dev, "type", "veth", "peer", "name", &v.peer,
        ])
        .map_err(|e| skip(format!("cannot make a veth pair on this host: {e}")))?;
        Ok(v)
    }

    fn on_host(&self) -> Option<String> {
        run_host(&["ip", "addr", "show", "dev", &self.dev]).ok()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        // Deleting either end deletes both; either may be gone already.
        let _ = run_host(&["ip", "link", "del", &self.peer]);
        let _ = run_host(&["ip", "link", "del", &self.dev]);
    }
}

fn with_devices(script: &str, devices: Value) -> Value {
    let mut cfg = sh(script);
    cfg["linux"]["netDevices"] = devices;
    cfg
}

/// The end is renamed `st0`, up, with its permanent global IPv4 and IPv6 addresses and without
/// its link-scope one; after the run it is not back on the host.
fn moved(ctx: &Ctx) -> TestResult {
    let v = Veth::new(ctx, 'a')?;
    run_host(&["ip", "addr", "add", "10.213.0.1/24", "dev", &v.dev])?;
    run_host(&[
        "ip",
        "addr",
        "add",
        "10.214.0.9/32",
        "dev",
        &v.dev,
        "scope",
        "link",
    ])?;
    let v6 = run_host(&[
        "ip",
        "-6",
        "addr",
        "add",
        "fd00:5a::1/64",
        "dev",
        &v.dev,
        "nodad",
    ]);
    if let Err(e) = &v6 {
        println!("# no IPv6 address checked: {e}");
    }
    // The program marks that it ran, so a refusal is told from a dropped field.
    let script = "touch /ran; ip addr show st0";
    let cfg = with_devices(script, json!({ v.dev.as_str(): {"name": "st0"} }));
    let c = Ctn::new(ctx, "")?;
    c.write_config(&cfg)?;
    let out = c.run()?;
    if out.code != 0 && !c.rootfs().join("ran").exists() {
        println!("# refused: {}", out.stderr.trim());
        return Ok(());
    }
    let inside = &out.stdout;
    ensure(out.code == 0 && inside.contains("st0"), || {
        format!("ip addr show st0 inside: {}", out.describe())
    })?;
    ensure(inside.contains(",UP") || inside.contains("<UP"), || {
        format!("st0 is not up inside: {inside}")
    })?;
    ensure(inside.contains("inet 10.213.0.1/24"), || {
        format!("the permanent global address was not kept: {inside}")
    })?;
    ensure(v6.is_err() || inside.contains("fd00:5a::1/64"), || {
        format!("the permanent global IPv6 address was not kept: {inside}")
    })?;
    ensure(!inside.contains("10.214.0.9"), || {
        format!("a link-scope address moved: {inside}")
    })?;
    ensure(v.on_host().is_none(), || {
        "after delete the device is back on the host (the runtime moved it back)".to_string()
    })
}

/// A `%d` template: the kernel numbers the name (`st0` in a namespace that has only `lo`).
fn template(ctx: &Ctx) -> TestResult {
    let v = Veth::new(ctx, 'b')?;
    let cfg = with_devices(
        "ip link show st0",
        json!({ v.dev.as_str(): {"name": "st%d"} }),
    );
    let out = run_config(ctx, &cfg)?;
    ensure(out.code == 0 && out.stdout.contains("st0"), || {
        format!("ip link show st0 inside: {}", out.describe())
    })
}

/// Checks a create that must fail: no container, the device back on the host as it was (name,
/// address), and, with `--check-messages`, the error names `field`.
fn refused_and_back(ctx: &Ctx, cfg: &Value, v: Option<&Veth>, field: &str) -> TestResult {
    let c = Ctn::new(ctx, "")?;
    c.write_config(cfg)?;
    let out = c.create(&[])?;
    ensure(out.code != 0, || {
        format!("create succeeded: {}", out.describe())
    })?;
    ensure(c.state().is_err(), || {
        "the failed create left a container".to_string()
    })?;
    if ctx.check_messages {
        ensure(out.stderr.contains(field), || {
            format!("the error does not name {field}: {}", out.stderr.trim())
        })?;
    }
    let Some(v) = v else {
        return Ok(());
    };
    let host = v.on_host().ok_or_else(|| {
        format!(
            "after the failed create {} is not on the host (left to die with the namespace)",
            v.dev
        )
    })?;
    ensure(host.contains("inet 10.215.0.1/24"), || {
        format!("{} is back without its address: {host}", v.dev)
    })
}

/// A name already in the container's namespace (`lo`) is an error, and the device is back.
fn name_taken_refused(ctx: &Ctx) -> TestResult {
    let v = Veth::new(ctx, 'c')?;
    run_host(&["ip", "addr", "add", "10.215.0.1/24", "dev", &v.dev])?;
    let cfg = with_devices("true", json!({ v.dev.as_str(): {"name": "lo"} }));
    let field = format!("linux.netDevices[\"{}\"].name", v.dev);
    refused_and_back(ctx, &cfg, Some(&v), &field)
}

/// A device the host does not have is an error naming the entry.
fn missing_device_refused(ctx: &Ctx) -> TestResult {
    let name = format!("snx{}", ctx.pid % 100_000);
    let cfg = with_devices("true", json!({ name.as_str(): {} }));
    refused_and_back(ctx, &cfg, None, &format!("linux.netDevices[\"{name}\"]"))
}

/// A create that fails after the move (a failing prestart hook) puts the device back.
fn failed_create_puts_back(ctx: &Ctx) -> TestResult {
    let v = Veth::new(ctx, 'd')?;
    run_host(&["ip", "addr", "add", "10.215.0.1/24", "dev", &v.dev])?;
    let mut cfg = with_devices("true", json!({ v.dev.as_str(): {"name": "st0"} }));
    cfg["hooks"] = json!({"prestart": [{"path": "/bin/false"}]});
    refused_and_back(ctx, &cfg, Some(&v), "prestart")
}
