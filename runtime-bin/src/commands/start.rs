use cella::container::{NotifyProxy, Runtime};
use cella::error::Status;

#[derive(clap::Args, Debug, PartialEq)]
pub struct Args {
    /// Container id.
    #[arg(value_parser = crate::utf8("container id"))]
    pub(crate) id: String,
}

/// With `NOTIFY_SOCKET` set, as runc: the container's notify socket is
/// bound before it starts, and `start` returns once the container has said
/// `READY=` (passed on to `NOTIFY_SOCKET` with the init as `MAINPID`) or its
/// init has exited.
pub fn run(rt: &Runtime, a: Args) -> Result<u8, crate::Failure> {
    let mut c = rt.load(&a.id)?;
    let proxy = match super::notify_socket() {
        Some(host) if c.status() == Status::Created => Some(NotifyProxy::bind(&c, &host)?),
        _ => None,
    };
    c.start()?;
    if let Some(proxy) = proxy {
        let pid = c.pid();
        crate::log::warnings(&proxy.forward(&c, pid)?);
    }
    Ok(0)
}
