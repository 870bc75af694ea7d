//! Images without a registry: the busybox rootfs as one uncompressed layer,
//! written as an archive that is both an OCI image layout (`index.json`,
//! `blobs/`) for `ctr image import` and a Docker archive (`manifest.json`) for
//! `docker load`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::cmd::Cmd;
use crate::env::Env;

/// An image to build: its name and the parts of its config that differ.
pub struct Spec<'a> {
    /// `localhost/<name>:latest`.
    pub name: &'a str,
    pub entrypoint: Option<&'a [&'a str]>,
    pub cmd: &'a [&'a str],
}

/// The full reference of image `name`.
pub fn reference(name: &str) -> String {
    format!("localhost/{name}:latest")
}

fn sha256(env: &Env, file: &Path) -> Result<String, String> {
    let out = env.run_ok(Cmd::new("sha256sum").arg(file))?;
    out.stdout
        .split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum {}: no digest", file.display()))
}

/// Writes `value` as a blob; returns (digest hex, size).
fn put_blob(env: &Env, blobs: &Path, value: &Value) -> Result<(String, u64), String> {
    let tmp = blobs.join("tmp.json");
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, &bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let hex = sha256(env, &tmp)?;
    std::fs::rename(&tmp, blobs.join(&hex)).map_err(|e| e.to_string())?;
    Ok((hex, bytes.len() as u64))
}

/// Builds the archive for `spec` under the work dir (once) and returns it.
pub fn archive(env: &Env, spec: &Spec<'_>) -> Result<PathBuf, String> {
    let out = env.work.join(format!("image-{}.tar", spec.name));
    if out.exists() {
        return Ok(out);
    }
    let dir = env.dir(&format!("image-{}", spec.name))?;
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| e.to_string())?;
    let layer = env.rootfs_tar()?;
    let layer_hex = sha256(env, &layer)?;
    let layer_size = std::fs::metadata(&layer).map_err(|e| e.to_string())?.len();
    std::fs::copy(&layer, blobs.join(&layer_hex)).map_err(|e| e.to_string())?;
    let mut config = json!({
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": spec.cmd,
        "WorkingDir": "/",
    });
    if let Some(ep) = spec.entrypoint {
        config["Entrypoint"] = json!(ep);
    }
    let (config_hex, config_size) = put_blob(
        env,
        &blobs,
        &json!({
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_hex}")]},
        }),
    )?;
    let (manifest_hex, manifest_size) = put_blob(
        env,
        &blobs,
        &json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{config_hex}"), "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": format!("sha256:{layer_hex}"), "size": layer_size}],
        }),
    )?;
    let reference = reference(spec.name);
    let write = |name: &str, v: &Value| {
        std::fs::write(dir.join(name), v.to_string()).map_err(|e| format!("{name}: {e}"))
    };
    write("oci-layout", &json!({"imageLayoutVersion": "1.0.0"}))?;
    write(
        "index.json",
        &json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": format!("sha256:{manifest_hex}"),
                "size": manifest_size,
                "annotations": {
                    "io.containerd.image.name": reference,
                    "org.opencontainers.image.ref.name": "latest",
                },
            }],
        }),
    )?;
    write(
        "manifest.json",
        &json!([{
            "Config": format!("blobs/sha256/{config_hex}"),
            "RepoTags": [reference],
            "Layers": [format!("blobs/sha256/{layer_hex}")],
        }]),
    )?;
    env.run_ok(
        Cmd::new("tar")
            .arg("-C")
            .arg(&dir)
            .arg("-cf")
            .arg(&out)
            .args(["oci-layout", "index.json", "manifest.json", "blobs"]),
    )?;
    Ok(out)
}

/// The plain busybox image: `sh` by default.
pub const BUSYBOX: Spec<'static> = Spec {
    name: "e2e-busybox",
    entrypoint: None,
    cmd: &["sh"],
};

/// A pause image for CRI pod sandboxes: sleeps for ever.
pub const PAUSE: Spec<'static> = Spec {
    name: "e2e-pause",
    entrypoint: Some(&["/bin/sleep", "2147483647"]),
    cmd: &[],
};
