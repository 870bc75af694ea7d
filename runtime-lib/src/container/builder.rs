//! [`ContainerBuilder`]: everything `create` can be given, from a bundle on
//! disk or from an in-memory [`Spec`].

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;

use super::create::{self, Request};
use super::{Container, Io, NotifyProxy, Runtime, Stdio};
use crate::error::Error;
use crate::plan::{CgroupSetting, Console, CreateOptions, Plan};
use crate::spec::{self, Bundle};

/// Where the configuration comes from.
#[derive(Debug)]
enum Source {
    /// A bundle directory with its `config.json`, and a bundle directory
    /// wrongly given to it too.
    Bundle(PathBuf, Option<PathBuf>),
    /// An in-memory spec, with the bundle directory a relative `root.path`
    /// is relative to, if any.
    Spec(Box<Spec>, Option<PathBuf>),
}

impl Source {
    /// Loads (or takes) and validates the configuration.
    fn load(self) -> Result<Bundle, Error> {
        Ok(match self {
            Source::Bundle(_, Some(extra)) => {
                return Err(Error::Usage(format!(
                    "bundle_dir {}: only for an in-memory spec (a bundle given by path is its \
                     own directory)",
                    extra.display()
                )))
            }
            Source::Bundle(dir, None) => spec::load_bundle(&dir)?,
            Source::Spec(spec, dir) => spec::bundle_from_spec(*spec, dir.as_deref())?,
        })
    }
}

/// Builds one container: made by [`Runtime::builder`] (a bundle directory)
/// or [`Runtime::builder_from_spec`] (an in-memory spec, no file needed),
/// configured with its methods, then [`ContainerBuilder::create`]d (or only
/// [`ContainerBuilder::plan`]ned). The defaults are `cella create`'s: the
/// caller's stdio, cgroups as the config says, no console, no pid file.
///
/// ```no_run
/// use cella::container::{Runtime, Stdio};
/// use cella::plan::CgroupSetting;
///
/// let rt = Runtime::new("/run/my-app");
/// let (stdout, mut output) = Stdio::output_pipe()?;
/// let mut c = rt
///     .builder("web", "/srv/bundles/web")
///     .stdin(Stdio::Null)
///     .stdout(stdout)
///     .cgroups(CgroupSetting::Path("/my-app/web".into()))
///     .create()?;
/// c.start()?;
/// let status = c.wait()?;
/// # let _ = (&mut output, status);
/// # Ok::<(), cella::Error>(())
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until create()"]
pub struct ContainerBuilder<'r> {
    runtime: &'r Runtime,
    id: String,
    source: Source,
    options: CreateOptions,
    io: Io,
    pid_file: Option<PathBuf>,
}

impl Runtime {
    /// A builder for container `id` from the bundle directory `bundle`
    /// (`config.json` and, usually, the rootfs).
    pub fn builder(&self, id: &str, bundle: impl Into<PathBuf>) -> ContainerBuilder<'_> {
        ContainerBuilder::new(self, id, Source::Bundle(bundle.into(), None))
    }

    /// A builder for container `id` from an in-memory spec: no
    /// `config.json` is read or written. Its `root.path` must be absolute
    /// unless [`ContainerBuilder::bundle_dir`] is given; errors name the
    /// file [`crate::spec::IN_MEMORY_CONFIG`] and the field.
    pub fn builder_from_spec(&self, id: &str, spec: Spec) -> ContainerBuilder<'_> {
        ContainerBuilder::new(self, id, Source::Spec(Box::new(spec), None))
    }
}

impl<'r> ContainerBuilder<'r> {
    fn new(runtime: &'r Runtime, id: &str, source: Source) -> Self {
        ContainerBuilder {
            runtime,
            id: id.to_string(),
            source,
            options: CreateOptions::default(),
            io: Io::default(),
            pid_file: None,
        }
    }

    /// For an in-memory spec: the bundle directory, which a relative
    /// `root.path` is relative to and which the state and the hooks report
    /// (default: the parent of the absolute `root.path`). A bundle given
    /// by path is its own directory: giving one to it too is an error at
    /// `create`.
    pub fn bundle_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        match &mut self.source {
            Source::Spec(_, d) | Source::Bundle(_, d) => *d = Some(dir.into()),
        }
        self
    }

    /// All the plan's options at once (what the other setters change).
    pub fn options(mut self, options: CreateOptions) -> Self {
        self.options = options;
        self
    }

    /// Where the container's cgroup goes, or [`CgroupSetting::Disabled`].
    pub fn cgroups(mut self, setting: CgroupSetting) -> Self {
        self.options.cgroups = setting;
        self
    }

    /// Where the terminal of a `process.terminal` container goes. A console
    /// socket gets the pty master as runc sends it; with
    /// [`Console::Relay`] the runtime keeps it: take it with
    /// [`Container::take_terminal`].
    pub fn console(mut self, console: Console) -> Self {
        self.options.console = console;
        self
    }

    /// runc's `--console-socket PATH`.
    pub fn console_socket(self, path: impl Into<PathBuf>) -> Self {
        self.console(Console::Socket(path.into()))
    }

    /// Writes the init's pid to `path` when the container is created
    /// (runc's `--pid-file`; atomically, as containerd reads it).
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// The init's stdin.
    pub fn stdin(mut self, s: impl Into<Stdio>) -> Self {
        self.io.stdin = s.into();
        self
    }

    /// The init's stdout.
    pub fn stdout(mut self, s: impl Into<Stdio>) -> Self {
        self.io.stdout = s.into();
        self
    }

    /// The init's stderr.
    pub fn stderr(mut self, s: impl Into<Stdio>) -> Self {
        self.io.stderr = s.into();
        self
    }

    /// Fds the init gets as 3, 4, ... in this order.
    pub fn preserve_fds(mut self, fds: Vec<OwnedFd>) -> Self {
        self.io.fds = fds;
        self
    }

    /// runc's `--preserve-fds N`: this process's own fds 3 to 3+N-1 pass
    /// as they are (not with [`ContainerBuilder::preserve_fds`]).
    pub fn inherit_fds(mut self, n: u32) -> Self {
        self.options.preserve_fds = n;
        self
    }

    /// Rootless (runc's `--rootless`, resolved): cgroups the caller may not
    /// write are skipped rather than an error.
    pub fn rootless(mut self, rootless: bool) -> Self {
        self.options.rootless = rootless;
        self
    }

    /// runc's `--no-pivot`: `MS_MOVE` and `chroot` instead of `pivot_root`.
    pub fn no_pivot(mut self, yes: bool) -> Self {
        self.options.no_pivot = yes;
        self
    }

    /// runc's `--no-new-keyring`: keep the caller's session keyring.
    pub fn no_new_keyring(mut self, yes: bool) -> Self {
        self.options.no_new_keyring = yes;
        self
    }

    /// The plan `create` would follow, computed without creating anything
    /// (no root needed).
    pub fn plan(self) -> Result<Plan, Error> {
        super::id::validate_id(&self.id)?;
        let bundle = self.source.load()?;
        // As `create` counts them: the fds given become `preserve_fds`.
        let mut options = self.options;
        create::check_io(&self.io, &mut options, create::has_terminal(&bundle))?;
        let state_dir = create::state_dir(self.runtime.root(), &self.id)?;
        create::plan_loaded(&bundle, &self.id, &options, Some(state_dir))
    }

    /// Creates the container: namespaces, rootfs, cgroup; the init waits
    /// for [`Container::start`]. On error nothing is left behind.
    pub fn create(self) -> Result<Container, Error> {
        super::id::validate_id(&self.id)?;
        let bundle = self.source.load()?;
        let req = Request {
            id: &self.id,
            bundle,
            io: self.io,
            pid_file: self.pid_file.as_deref(),
        };
        create::create(self.runtime.root(), req, &self.options)
    }

    /// Creates the container and starts it (what `cella run` does before
    /// it waits). If the start fails, the container is deleted again (its
    /// poststop hooks run) and the start's error returned.
    pub fn create_and_start(self) -> Result<Container, Error> {
        let mut c = self.create()?;
        match c.start() {
            Ok(()) => Ok(c),
            Err(e) => Err(undo(c, e)),
        }
    }

    /// As [`ContainerBuilder::create_and_start`], with sd_notify proxying
    /// (`cella run` with `NOTIFY_SOCKET=host` in its environment): the
    /// container gets `/run/notify`, and its socket is bound before the
    /// start. [`NotifyProxy::forward`] then waits for `READY=` and tells
    /// `host`.
    pub fn create_and_start_notifying(
        self,
        host: &Path,
    ) -> Result<(Container, NotifyProxy), Error> {
        let mut c = self.options_with(|o| o.notify_socket = true).create()?;
        let proxy = match NotifyProxy::bind(&c, host) {
            Ok(p) => p,
            Err(e) => return Err(undo(c, e)),
        };
        match c.start() {
            Ok(()) => Ok((c, proxy)),
            Err(e) => Err(undo(c, e)),
        }
    }

    fn options_with(mut self, change: impl FnOnce(&mut CreateOptions)) -> Self {
        change(&mut self.options);
        self
    }
}

/// Deletes a container whose start failed with `e` (its poststop hooks
/// run); what the delete could not do goes with `e`, not dropped.
fn undo(c: Container, e: Error) -> Error {
    let warnings = match c.delete(true) {
        Ok(w) => w,
        Err(d) => vec![format!(
            "deleting the container after the failed start: {d}"
        )],
    };
    e.with_warnings(warnings)
}

/// The path of a bundle, for [`Runtime::create`].
pub(super) fn bundle_request<'a>(id: &'a str, bundle: &Path) -> Result<Request<'a>, Error> {
    super::id::validate_id(id)?;
    Ok(Request {
        id,
        bundle: spec::load_bundle(bundle)?,
        io: Io::default(),
        pid_file: None,
    })
}
