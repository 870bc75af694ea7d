//! The tests, one module per area. Each module's `tests()` returns its table.

pub mod apparmor;
pub mod as_runc;
pub mod bad_configs;
pub mod cgroups;
pub mod checker;
pub mod coverage;
pub mod devices;
pub mod exec;
pub mod features;
pub mod hooks;
pub mod idmap;
pub mod leftovers;
pub mod lifecycle;
pub mod mounts;
pub mod namespaces;
pub mod net_devices;
pub mod pidfd;
pub mod process;
pub mod real_world;
pub mod resources;
pub mod scheduling;
pub mod seccomp;
pub mod security;
pub mod selftest;
pub mod systemd;
pub mod terminal;
