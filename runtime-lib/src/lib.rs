//! Cella: a Linux OCI container runtime.
//!
//! A bundle (`config.json` + rootfs) is loaded and validated ([`spec`]),
//! compiled into a [`plan::Plan`] — plain data, computed without root — and
//! the plan is applied by forking the processes that become the container.
//! [`container::Runtime`] drives the lifecycle as runc's commands do.
//!
//! ```no_run
//! use cella::container::Runtime;
//! use cella::plan::CreateOptions;
//!
//! let rt = Runtime::new("/run/cella");
//! let mut c = rt.create("demo", "/path/to/bundle".as_ref(), &CreateOptions::default())?;
//! c.start()?;
//! # Ok::<(), cella::Error>(())
//! ```
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod apply;
pub mod cgroups;
pub mod console;
pub mod container;
pub mod error;
pub mod exe;
pub mod features;
pub mod hooks;
pub mod plan;
pub mod rootless;
pub mod seccomp;
pub mod spec;
mod stop_point;
mod sync;
mod sys;

pub use error::{ChildError, Error, Status};
/// The signal and pid types of the API ([`container::Container::kill`],
/// [`container::Container::processes`]), from `nix`.
pub use nix::{sys::signal::Signal, unistd::Pid};
/// The `oci-spec` crate whose types the API takes ([`oci_spec::runtime::Spec`],
/// `Process`, `LinuxResources`), re-exported so that an embedder uses the
/// same version.
pub use oci_spec;
