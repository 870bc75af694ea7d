//! Cella: a Linux OCI container runtime (runtime-spec 1.2), as a library.
//!
//! The `cella` binary (runc's command line) is a thin client of this crate;
//! a Rust program can run containers the same way without shelling out.
//!
//! # Quick start
//!
//! A container from an in-memory spec (no `config.json`), its stdout read
//! through a pipe (as root; `runtime-lib/examples/` has complete programs,
//! which CI runs):
//!
//! ```no_run
//! use std::io::Read;
//!
//! use cella::container::{Runtime, Stdio};
//! use cella::oci_spec::runtime::RootBuilder;
//!
//! let mut spec = cella::spec::default_config(false);
//! spec.set_root(Some(RootBuilder::default().path("/srv/rootfs").readonly(true).build().unwrap()));
//! let mut process = spec.process().clone().unwrap();
//! process.set_terminal(Some(false));
//! process.set_args(Some(vec!["echo".into(), "hello".into()]));
//! spec.set_process(Some(process));
//!
//! let rt = Runtime::new("/run/my-app");
//! let (stdout, mut output) = Stdio::output_pipe()?;
//! let mut c = rt.builder_from_spec("hello", spec).stdout(stdout).create()?;
//! c.start()?;
//! let mut text = String::new();
//! output.read_to_string(&mut text).expect("read the pipe");
//! let status = c.wait()?;
//! c.delete(false)?;
//! assert_eq!((text.as_str(), status.code()), ("hello\n", Some(0)));
//! # Ok::<(), cella::Error>(())
//! ```
//!
//! # The API
//!
//! - [`container::Runtime`] is a state directory (runc's `--root`): it
//!   builds containers ([`container::Runtime::builder`] from a bundle
//!   directory, [`container::Runtime::builder_from_spec`] from a
//!   [`oci_spec::runtime::Spec`]), loads and lists existing ones, and
//!   deletes them by id. The state is the `cella` binary's: `cella --root
//!   DIR state ID` sees containers an embedder made, and the other way
//!   round.
//! - [`container::ContainerBuilder`] takes what `cella create` takes: the
//!   process's stdio ([`container::Stdio`]: inherited, `/dev/null`, or any
//!   fd, e.g. a pipe the caller reads), fds it gets as 3, 4, ..., a console
//!   socket or a terminal the caller keeps ([`plan::Console`]), a pid file,
//!   and where its cgroup goes ([`plan::CgroupSetting`]: the config's path,
//!   a path the caller gives, or no cgroup at all).
//! - [`container::Container`]: `start`, `wait`/`try_wait` (the exit
//!   status), `pidfd` (to await the exit in an event loop), `kill`,
//!   `delete`, `exec` (a process in the container, from a `process.json`
//!   or [`container::ProcessOverrides`], returning an
//!   [`container::ExecProcess`], which is `AsFd` on its pidfd),
//!   `pause`/`resume`, `update` (new `linux.resources`), `stats`,
//!   `events`, `processes`, `oci_state`.
//! - [`Error`] is one enum to match on: [`Error::NotFound`],
//!   [`Error::AlreadyExists`], [`Error::WrongState`], [`Error::InvalidConfig`]
//!   (naming the file and the JSON field), [`Error::Unsupported`] (what this
//!   host or runtime cannot honour, refused rather than ignored),
//!   [`Error::Sys`] (the syscall and what it was made on), and the rest.
//!
//! # Plan, then apply
//!
//! A configuration is loaded and validated ([`spec`]), then compiled with
//! the host's facts into a [`plan::Plan`]: plain data saying which
//! namespaces are made or joined, which mounts in which order, which device
//! nodes, which cgroup files get which values, the compiled seccomp
//! program, the process's identity. Planning needs no root and changes
//! nothing ([`container::ContainerBuilder::plan`]; `cella plan` prints it as
//! JSON), so everything that can be refused is refused before anything is
//! made: a bad configuration leaves nothing behind. A small executor then
//! applies the plan with syscalls, in the processes that become the
//! container.
//!
//! # The process model
//!
//! `create` runs in the calling thread. It takes a lock on the container's
//! state directory, writes the state, makes the cgroup, then forks a first
//! child that joins or creates the namespaces and forks the container's
//! init (`CLONE_PARENT`: the init is a child of the *caller*). The init
//! builds the root filesystem, reports "ready" and waits on a FIFO in the
//! state directory; `create` returns. [`container::Container::start`] lets
//! it `execve` the container's program. `exec` forks the same way: the new
//! process is the caller's child too.
//!
//! So the process that created a container is its init's parent: it (and
//! only it, [`Error::NotChild`] otherwise) can [`container::Container::wait`]
//! for the exit status, and should, or the init stays a zombie until the
//! caller exits ([`container::Container::delete`] reaps it if nobody did).
//! The runtime waits only for the pids it forked, never for "any child", so
//! the caller's other children are left to it; but `SIGCHLD` must not be
//! ignored (`SIG_IGN` makes the kernel reap children itself, and no exit
//! status is left to read). Another process (`cella state`, `cella kill`)
//! can act on the container through the state directory, as with runc.
//!
//! Nothing is global: a [`container::Runtime`] is a path, and every call
//! does its work before it returns. The library starts no threads and no
//! async runtime; its calls block the calling thread (`wait` until the
//! process exits, `create` until the init is ready, `events` until the
//! callback says stop). Signals are not touched, except by the helpers for
//! a foreground command line ([`container::block_forwarded_signals`],
//! [`container::Container::wait_forwarding_signals`]), which the `cella`
//! binary uses.
//!
//! # From an async program
//!
//! The long wait, for a process to exit, need not block a thread: both
//! handles give a pidfd (`pidfd_open(2)`) of their process, which becomes
//! readable when it exits. An event loop registers it (tokio's `AsyncFd`,
//! async-io's `Async`), awaits readability, then calls `try_wait`, which
//! has the status at once:
//!
//! - [`container::ExecProcess`] implements [`std::os::fd::AsFd`]: its
//!   pidfd is opened when `exec` forks it, so it always has one.
//! - [`container::Container::pidfd`] returns a `Result`: a container made
//!   by this process has one from `create` on, but one loaded from the
//!   state directory opens it on first use and has none once its init is
//!   gone ([`Error::WrongState`]; nothing is left to wait for).
//!
//! Either pidfd refers to the process the handle was made for, never to
//! one that reused its pid: it is opened while the process is this
//! program's unreaped child (`create`, `exec`), or, for a loaded
//! container, checked against the start time the state recorded after it
//! was opened. The fd belongs to the handle: register a borrow of it and
//! drop the registration before calling `try_wait` (which takes `&mut`),
//! or [`std::os::fd::BorrowedFd::try_clone_to_owned`] it.
//! `runtime-lib/examples/tokio_wait.rs` is a complete program. The other
//! calls (`create`, `start`, `exec`, `delete`) block for the short while
//! they take, forking and waiting for the new process to be ready; a busy
//! async program makes them from a blocking task.
//!
//! # Fork safety (multi-threaded callers)
//!
//! `create` and `exec` fork the calling process. Only the calling thread
//! exists in the child, which then allocates memory, builds the container
//! and `execve`s. That is sound in a multi-threaded program under these
//! rules:
//!
//! - The fork goes through glibc's `fork()`, which takes and resets
//!   malloc's and stdio's locks around the fork, so the child can allocate
//!   whatever the other threads were doing (`runtime-lib/tests/embedding.rs`
//!   creates containers while four threads allocate without pause).
//! - The child takes no lock of the Rust standard library that another
//!   thread may have held at the fork (it writes errors with `write(2)`,
//!   not `eprintln!`), with one exception: running a hook spawns a process
//!   with `std::process::Command`, which takes std's environment lock for
//!   reading. Do not call `std::env::set_var`/`remove_var` (already
//!   `unsafe` in a multi-threaded program) while a container with hooks is
//!   being created or started.
//! - The child starts no thread and never returns into the caller's code:
//!   it ends in `execve` or `_exit`, a panic included (none should
//!   happen; one would end the child rather than unwind through frames it
//!   shares with the caller), so no value of the caller's is used or
//!   dropped in it.
//! - Every fd of the caller's is inherited by the child until its first
//!   step closes all but its own; fds opened without `O_CLOEXEC` (std opens
//!   everything with it) would still not reach the container. A pipe end
//!   the caller is reading from is therefore held open by the child for
//!   that short while only.
//! - The container's stdio and preserved fds are placed in the child;
//!   the runtime numbers its own fds above that range first, so whatever
//!   numbers the caller's fds have, nothing of the runtime's reaches the
//!   container.
//!
//! # Security notes
//!
//! The container's processes are copies of the caller until they `execve`
//! the container's program, so a process in the container could reach the
//! caller's binary through `/proc/<pid>/exe` in that window (runc
//! CVE-2019-5736): `exec`'d processes are made non-dumpable, and a program
//! that creates containers should call [`exe::reexec_from_sealed_copy`]
//! first thing in `main` (before it starts threads), as the `cella` binary
//! does, so that what the container could reach is a read-only view of
//! the binary (a private lower-only overlay) or a sealed copy. Mount
//! destinations are resolved inside the rootfs (symlinks cannot redirect
//! them to the host), no runtime fd reaches the container, and a setting
//! that cannot be honoured (an AppArmor profile without AppArmor, a limit
//! without a cgroup) is an error, never ignored. A container without a
//! cgroup ([`plan::CgroupSetting::Disabled`]) has no device cgroup either.
//! All `unsafe` code is in one private module of thin syscall wrappers,
//! each with a `SAFETY` comment.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod apply;
mod cgroup_types;
pub mod cgroups;
pub mod console;
pub mod container;
pub mod dbus;
pub mod error;
pub mod exe;
pub mod features;
pub mod hooks;
mod mountinfo;
mod netlink;
mod path_json;
pub mod plan;
mod ready;
pub mod rootless;
pub mod seccomp;
pub mod spec;
mod stop_point;
mod sync;
mod sys;

pub use error::{ChildError, Error, FieldError, FieldErrorKind, Status};
/// The signal and pid types of the API ([`container::Container::kill`],
/// [`container::Container::processes`]), from `nix`.
pub use nix::{sys::signal::Signal, unistd::Pid};
/// The `oci-spec` crate whose types the API takes ([`oci_spec::runtime::Spec`],
/// `Process`, `LinuxResources`), re-exported so that an embedder uses the
/// same version.
pub use oci_spec;
