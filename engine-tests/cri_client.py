#!/usr/bin/python3
"""Minimal Kubernetes CRI (runtime.v1) client for Cella's end-to-end tests.

The engine tests drive containerd's CRI plugin the way the kubelet does:
run a pod sandbox, create/start/exec/update/stop/remove a container, and
read back state and pid, with the runtime handler pointing at Cella.

The only Python packages available are Debian 12's python3-grpcio and
python3-protobuf: no grpcio-tools, no generated *_pb2 modules, and no copy
of the CRI api.proto in the tree.  So this module describes the handful of
runtime.v1 messages it needs as a FileDescriptorProto built in Python, with
the field numbers and types of the upstream k8s.io/cri-api api.proto, and
lets protobuf turn it into message classes at run time.  Fields left out
here are simply kept as unknown fields when a response carries them.

Every command prints one JSON object on stdout and exits 0; a failed RPC
prints "<Method>: <CODE>: <details>" on stderr and exits 1.
"""

import argparse
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "runtime.v1"
SERVICE = "/runtime.v1.RuntimeService/"

# ExecSync may return up to 16 MiB of stdout plus 16 MiB of stderr; the
# gRPC default of 4 MiB would turn a chatty command into RESOURCE_EXHAUSTED.
MAX_MESSAGE = 64 * 1024 * 1024

# --- Schema -----------------------------------------------------------------
# Field numbers and types below are those of k8s.io/cri-api
# pkg/apis/runtime/v1/api.proto.  A type is a scalar name, "enum:X",
# "msg:X" or "map" (map<string, string>); a "repeated " prefix makes it a list.

ENUMS = {
    "NamespaceMode": ["POD", "CONTAINER", "NODE", "TARGET"],
    "PodSandboxState": ["SANDBOX_READY", "SANDBOX_NOTREADY"],
    "ContainerState": ["CONTAINER_CREATED", "CONTAINER_RUNNING",
                       "CONTAINER_EXITED", "CONTAINER_UNKNOWN"],
}

MESSAGES = {
    "VersionRequest": [("version", 1, "string")],
    "VersionResponse": [
        ("version", 1, "string"),
        ("runtime_name", 2, "string"),
        ("runtime_version", 3, "string"),
        ("runtime_api_version", 4, "string"),
    ],
    # Sandbox configuration.
    "NamespaceOption": [
        ("network", 1, "enum:NamespaceMode"),
        ("pid", 2, "enum:NamespaceMode"),
        ("ipc", 3, "enum:NamespaceMode"),
    ],
    "LinuxSandboxSecurityContext": [
        ("namespace_options", 1, "msg:NamespaceOption"),
    ],
    "LinuxPodSandboxConfig": [
        ("cgroup_parent", 1, "string"),
        ("security_context", 2, "msg:LinuxSandboxSecurityContext"),
    ],
    "PodSandboxMetadata": [
        ("name", 1, "string"),
        ("uid", 2, "string"),
        ("namespace", 3, "string"),
        ("attempt", 4, "uint32"),
    ],
    "PodSandboxConfig": [
        ("metadata", 1, "msg:PodSandboxMetadata"),
        ("hostname", 2, "string"),
        ("log_directory", 3, "string"),
        ("labels", 6, "map"),
        ("annotations", 7, "map"),
        ("linux", 8, "msg:LinuxPodSandboxConfig"),
    ],
    "RunPodSandboxRequest": [
        ("config", 1, "msg:PodSandboxConfig"),
        ("runtime_handler", 2, "string"),
    ],
    "RunPodSandboxResponse": [("pod_sandbox_id", 1, "string")],
    "StopPodSandboxRequest": [("pod_sandbox_id", 1, "string")],
    "StopPodSandboxResponse": [],
    "RemovePodSandboxRequest": [("pod_sandbox_id", 1, "string")],
    "RemovePodSandboxResponse": [],
    "PodSandboxStatusRequest": [
        ("pod_sandbox_id", 1, "string"),
        ("verbose", 2, "bool"),
    ],
    "PodSandboxStatus": [
        ("id", 1, "string"),
        ("metadata", 2, "msg:PodSandboxMetadata"),
        ("state", 3, "enum:PodSandboxState"),
    ],
    "PodSandboxStatusResponse": [
        ("status", 1, "msg:PodSandboxStatus"),
        ("info", 2, "map"),
    ],
    # Container configuration.
    "ImageSpec": [("image", 1, "string")],
    "KeyValue": [("key", 1, "string"), ("value", 2, "string")],
    "LinuxContainerResources": [
        ("cpu_period", 1, "int64"),
        ("cpu_quota", 2, "int64"),
        ("cpu_shares", 3, "int64"),
        ("memory_limit_in_bytes", 4, "int64"),
    ],
    "LinuxContainerSecurityContext": [
        ("namespace_options", 3, "msg:NamespaceOption"),
        # The deprecated string form ("unconfined", "runtime/default",
        # "localhost/<name>"), which containerd 1.6 reads.
        ("apparmor_profile", 9, "string"),
    ],
    "LinuxContainerConfig": [
        ("resources", 1, "msg:LinuxContainerResources"),
        ("security_context", 2, "msg:LinuxContainerSecurityContext"),
    ],
    "ContainerMetadata": [("name", 1, "string"), ("attempt", 2, "uint32")],
    "ContainerConfig": [
        ("metadata", 1, "msg:ContainerMetadata"),
        ("image", 2, "msg:ImageSpec"),
        ("command", 3, "repeated string"),
        ("args", 4, "repeated string"),
        ("working_dir", 5, "string"),
        ("envs", 6, "repeated msg:KeyValue"),
        ("labels", 9, "map"),
        ("annotations", 10, "map"),
        ("log_path", 11, "string"),
        ("stdin", 12, "bool"),
        ("stdin_once", 13, "bool"),
        ("tty", 14, "bool"),
        ("linux", 15, "msg:LinuxContainerConfig"),
    ],
    "CreateContainerRequest": [
        ("pod_sandbox_id", 1, "string"),
        ("config", 2, "msg:ContainerConfig"),
        ("sandbox_config", 3, "msg:PodSandboxConfig"),
    ],
    "CreateContainerResponse": [("container_id", 1, "string")],
    "StartContainerRequest": [("container_id", 1, "string")],
    "StartContainerResponse": [],
    "StopContainerRequest": [
        ("container_id", 1, "string"),
        ("timeout", 2, "int64"),
    ],
    "StopContainerResponse": [],
    "RemoveContainerRequest": [("container_id", 1, "string")],
    "RemoveContainerResponse": [],
    "ListContainersRequest": [],
    "Container": [
        ("id", 1, "string"),
        ("pod_sandbox_id", 2, "string"),
        ("metadata", 3, "msg:ContainerMetadata"),
        ("state", 6, "enum:ContainerState"),
    ],
    "ListContainersResponse": [("containers", 1, "repeated msg:Container")],
    "ContainerStatusRequest": [
        ("container_id", 1, "string"),
        ("verbose", 2, "bool"),
    ],
    "ContainerStatus": [
        ("id", 1, "string"),
        ("metadata", 2, "msg:ContainerMetadata"),
        ("state", 3, "enum:ContainerState"),
        ("exit_code", 7, "int32"),
        ("reason", 10, "string"),
        ("message", 11, "string"),
    ],
    "ContainerStatusResponse": [
        ("status", 1, "msg:ContainerStatus"),
        ("info", 2, "map"),
    ],
    "UpdateContainerResourcesRequest": [
        ("container_id", 1, "string"),
        ("linux", 2, "msg:LinuxContainerResources"),
    ],
    "UpdateContainerResourcesResponse": [],
    "ExecSyncRequest": [
        ("container_id", 1, "string"),
        ("cmd", 2, "repeated string"),
        ("timeout", 3, "int64"),
    ],
    "ExecSyncResponse": [
        ("stdout", 1, "bytes"),
        ("stderr", 2, "bytes"),
        ("exit_code", 3, "int32"),
    ],
}

# RPC name -> (request message, response message).
METHODS = {
    "Version": ("VersionRequest", "VersionResponse"),
    "RunPodSandbox": ("RunPodSandboxRequest", "RunPodSandboxResponse"),
    "StopPodSandbox": ("StopPodSandboxRequest", "StopPodSandboxResponse"),
    "RemovePodSandbox": ("RemovePodSandboxRequest", "RemovePodSandboxResponse"),
    "PodSandboxStatus": ("PodSandboxStatusRequest", "PodSandboxStatusResponse"),
    "CreateContainer": ("CreateContainerRequest", "CreateContainerResponse"),
    "StartContainer": ("StartContainerRequest", "StartContainerResponse"),
    "StopContainer": ("StopContainerRequest", "StopContainerResponse"),
    "RemoveContainer": ("RemoveContainerRequest", "RemoveContainerResponse"),
    "ListContainers": ("ListContainersRequest", "ListContainersResponse"),
    "ContainerStatus": ("ContainerStatusRequest", "ContainerStatusResponse"),
    "UpdateContainerResources": ("UpdateContainerResourcesRequest",
                                 "UpdateContainerResourcesResponse"),
    "ExecSync": ("ExecSyncRequest", "ExecSyncResponse"),
}

# --- Descriptor construction -------------------------------------------------

FDP = descriptor_pb2.FieldDescriptorProto
SCALARS = {
    "string": FDP.TYPE_STRING,
    "bytes": FDP.TYPE_BYTES,
    "bool": FDP.TYPE_BOOL,
    "int32": FDP.TYPE_INT32,
    "int64": FDP.TYPE_INT64,
    "uint32": FDP.TYPE_UINT32,
}


def _entry_name(field_name):
    """Name protoc gives the synthetic entry message of a map field."""
    return "".join(p.capitalize() for p in field_name.split("_")) + "Entry"


def _add_map_entry(msg, field_name):
    # A proto3 map<string, string> is wire-identical to a repeated nested
    # message {key = 1; value = 2;} flagged map_entry, so declare exactly that.
    entry = msg.nested_type.add(name=_entry_name(field_name))
    entry.options.map_entry = True
    for name, number in (("key", 1), ("value", 2)):
        entry.field.add(name=name, number=number, type=FDP.TYPE_STRING,
                        label=FDP.LABEL_OPTIONAL)
    return ".%s.%s.%s" % (PACKAGE, msg.name, entry.name)


def _add_field(msg, name, number, spec):
    field = msg.field.add(name=name, number=number, label=FDP.LABEL_OPTIONAL)
    if spec.startswith("repeated "):
        field.label = FDP.LABEL_REPEATED
        spec = spec[len("repeated "):]
    if spec == "map":
        field.label = FDP.LABEL_REPEATED
        field.type = FDP.TYPE_MESSAGE
        field.type_name = _add_map_entry(msg, name)
    elif spec.startswith("msg:"):
        field.type = FDP.TYPE_MESSAGE
        field.type_name = ".%s.%s" % (PACKAGE, spec[4:])
    elif spec.startswith("enum:"):
        field.type = FDP.TYPE_ENUM
        field.type_name = ".%s.%s" % (PACKAGE, spec[5:])
    else:
        field.type = SCALARS[spec]


def build_file_descriptor():
    """The runtime.v1 subset above as a FileDescriptorProto."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="cella_cri_client/runtime_v1_subset.proto",
        package=PACKAGE, syntax="proto3")
    for name, values in ENUMS.items():
        enum = fdp.enum_type.add(name=name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    for name, fields in MESSAGES.items():
        msg = fdp.message_type.add(name=name)
        for field in fields:
            _add_field(msg, *field)
    return fdp


def load_types():
    """Message classes by short name, from a private descriptor pool."""
    # A private pool keeps these definitions from clashing with any real
    # runtime.v1 module another import might register in the default pool.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(build_file_descriptor())
    types = {}
    for name in MESSAGES:
        desc = pool.FindMessageTypeByName("%s.%s" % (PACKAGE, name))
        types[name] = _message_class(desc)
    return types


def _message_class(desc):
    # GetMessageClass appeared in protobuf 4.22; Debian 12 ships 4.21,
    # where only MessageFactory.GetPrototype exists.
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


def enum_name(message, field):
    """Symbolic name of an enum field's value, e.g. CONTAINER_RUNNING."""
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    number = getattr(message, field)
    value = enum.values_by_number.get(number)
    return value.name if value else str(number)


# --- Transport ---------------------------------------------------------------

class RpcError(Exception):
    """A failed CRI call, carrying the method name and gRPC status."""

    def __init__(self, method, code, details):
        super().__init__("%s: %s: %s" % (method, code, details))


class CriClient:
    """Thin wrapper: one unary_unary stub per CRI method, each with a deadline."""

    def __init__(self, socket_path, timeout):
        self.types = load_types()
        self.timeout = timeout
        # An absolute path makes "unix://" + path the three-slash form that
        # gRPC reads as a filesystem path rather than an authority.
        target = "unix://" + os.path.abspath(socket_path)
        self.channel = grpc.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE),
            ("grpc.max_send_message_length", MAX_MESSAGE),
        ])

    def new(self, type_name, /, **fields):
        # Positional-only, so that a field called "name" can be passed too.
        return self.types[type_name](**fields)

    def call(self, method, request, timeout=None):
        _, response_type = METHODS[method]
        stub = self.channel.unary_unary(
            SERVICE + method,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=self.types[response_type].FromString)
        try:
            return stub(request, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            raise RpcError(method, err.code().name, err.details()) from None

    def close(self):
        self.channel.close()


# --- Request builders --------------------------------------------------------

def namespace_option(client, host_network):
    # Kubelet semantics: hostNetwork pods share the node's network
    # namespace; pid and ipc stay pod-scoped.
    mode = "NODE" if host_network else "POD"
    return client.new("NamespaceOption", network=mode, pid="POD", ipc="POD")


def pod_sandbox_config(client, name, namespace, uid, hostname="",
                       cgroup_parent="", log_dir="", host_network=False):
    security = client.new("LinuxSandboxSecurityContext",
                          namespace_options=namespace_option(client, host_network))
    return client.new(
        "PodSandboxConfig",
        metadata=client.new("PodSandboxMetadata", name=name or "",
                            namespace=namespace or "", uid=uid or ""),
        hostname=hostname or "",
        log_directory=log_dir or "",
        linux=client.new("LinuxPodSandboxConfig",
                         cgroup_parent=cgroup_parent or "",
                         security_context=security))


def linux_resources(client, args):
    """LinuxContainerResources from the options given; 0 means 'not set'."""
    return client.new(
        "LinuxContainerResources",
        memory_limit_in_bytes=args.memory or 0,
        cpu_quota=args.cpu_quota or 0,
        cpu_period=args.cpu_period or 0,
        cpu_shares=getattr(args, "cpu_shares", None) or 0)


def parse_env(pairs):
    envs = []
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit("--env expects KEY=VALUE, got %r" % pair)
        envs.append((key, value))
    return envs


def container_config(client, args):
    security = client.new(
        "LinuxContainerSecurityContext",
        namespace_options=namespace_option(client, args.host_network),
        apparmor_profile=args.apparmor_profile or "")
    return client.new(
        "ContainerConfig",
        metadata=client.new("ContainerMetadata", name=args.name),
        image=client.new("ImageSpec", image=args.image),
        command=args.command or [],
        args=args.args or [],
        envs=[client.new("KeyValue", key=k, value=v)
              for k, v in parse_env(args.env)],
        log_path=args.log_path or "",
        tty=args.tty,
        linux=client.new("LinuxContainerConfig",
                         resources=linux_resources(client, args),
                         security_context=security))


def verbose_pid(info):
    """The pid containerd reports in the verbose info["info"] JSON, if any."""
    try:
        pid = json.loads(info.get("info", "{}")).get("pid")
    except ValueError:
        return None
    return pid if isinstance(pid, int) and pid > 0 else None


# --- Commands ----------------------------------------------------------------

def cmd_version(client, args):
    resp = client.call("Version", client.new("VersionRequest", version="v1"))
    return {"version": resp.version, "runtime_name": resp.runtime_name,
            "runtime_version": resp.runtime_version,
            "runtime_api_version": resp.runtime_api_version}


def cmd_runp(client, args):
    config = pod_sandbox_config(client, args.name, args.namespace, args.uid,
                                args.hostname, args.cgroup_parent,
                                args.log_dir, args.host_network)
    req = client.new("RunPodSandboxRequest", config=config,
                     runtime_handler=args.handler or "")
    return {"pod_sandbox_id": client.call("RunPodSandbox", req).pod_sandbox_id}


def cmd_create(client, args):
    # containerd derives the cgroup path, hostname and log directory from
    # the sandbox_config sent here, so it must repeat what runp sent.
    sandbox = pod_sandbox_config(client, args.pod_name, args.pod_namespace,
                                 args.pod_uid, args.pod_hostname,
                                 args.pod_cgroup_parent, args.pod_log_dir,
                                 args.host_network)
    req = client.new("CreateContainerRequest", pod_sandbox_id=args.pod,
                     config=container_config(client, args),
                     sandbox_config=sandbox)
    return {"container_id": client.call("CreateContainer", req).container_id}


def cmd_start(client, args):
    client.call("StartContainer",
                client.new("StartContainerRequest", container_id=args.id))
    return {}


def cmd_stop(client, args):
    req = client.new("StopContainerRequest", container_id=args.id,
                     timeout=args.stop_timeout)
    # The runtime may legitimately take the whole grace period, so the
    # deadline must outlast it.
    client.call("StopContainer", req,
                timeout=max(client.timeout, args.stop_timeout + 30))
    return {}


def cmd_rm(client, args):
    client.call("RemoveContainer",
                client.new("RemoveContainerRequest", container_id=args.id))
    return {}


def cmd_stopp(client, args):
    client.call("StopPodSandbox",
                client.new("StopPodSandboxRequest", pod_sandbox_id=args.pod))
    return {}


def cmd_rmp(client, args):
    client.call("RemovePodSandbox",
                client.new("RemovePodSandboxRequest", pod_sandbox_id=args.pod))
    return {}


def cmd_status(client, args):
    resp = client.call("ContainerStatus", client.new(
        "ContainerStatusRequest", container_id=args.id, verbose=True))
    st = resp.status
    out = {"id": st.id, "state": enum_name(st, "state"),
           "exit_code": st.exit_code, "reason": st.reason,
           "message": st.message}
    pid = verbose_pid(resp.info)
    if pid is not None:
        out["pid"] = pid
    return out


def cmd_pod_status(client, args):
    resp = client.call("PodSandboxStatus", client.new(
        "PodSandboxStatusRequest", pod_sandbox_id=args.pod, verbose=True))
    out = {"id": resp.status.id, "state": enum_name(resp.status, "state")}
    pid = verbose_pid(resp.info)
    if pid is not None:
        out["pid"] = pid
    return out


def cmd_exec_sync(client, args):
    if not args.cmd:
        raise SystemExit("exec-sync: give the command after --")
    req = client.new("ExecSyncRequest", container_id=args.id, cmd=args.cmd,
                     timeout=args.exec_timeout)
    # The CRI timeout bounds the command; the gRPC deadline must outlast it.
    resp = client.call("ExecSync", req,
                       timeout=max(client.timeout, args.exec_timeout + 10))
    return {"exit_code": resp.exit_code,
            "stdout": resp.stdout.decode("utf-8", "replace"),
            "stderr": resp.stderr.decode("utf-8", "replace")}


def cmd_update(client, args):
    req = client.new("UpdateContainerResourcesRequest", container_id=args.id,
                     linux=linux_resources(client, args))
    client.call("UpdateContainerResources", req)
    return {}


def cmd_ps(client, args):
    resp = client.call("ListContainers", client.new("ListContainersRequest"))
    return {"containers": [
        {"id": c.id, "pod_sandbox_id": c.pod_sandbox_id,
         "state": enum_name(c, "state"), "name": c.metadata.name}
        for c in resp.containers]}


# --- Command line --------------------------------------------------------------

# Options of `create` whose values are word lists (argv-style).
WORD_LIST_OPTIONS = ("--command", "--args")


def _add_runp(sub):
    p = sub.add_parser("runp", help="RunPodSandbox")
    p.add_argument("--name", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--uid", required=True)
    p.add_argument("--handler", default="", help="runtime handler")
    p.add_argument("--host-network", action="store_true")
    p.add_argument("--hostname", default="")
    p.add_argument("--cgroup-parent", default="")
    p.add_argument("--log-dir", default="")
    p.set_defaults(func=cmd_runp)


def _add_create(sub):
    p = sub.add_parser("create", help="CreateContainer")
    p.add_argument("--pod", required=True, help="pod sandbox id")
    p.add_argument("--name", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--command", action="append", metavar="WORD ...")
    p.add_argument("--args", action="append", metavar="WORD ...")
    p.add_argument("--env", action="append", metavar="K=V")
    p.add_argument("--memory", type=int, metavar="BYTES")
    p.add_argument("--cpu-quota", type=int)
    p.add_argument("--cpu-period", type=int)
    p.add_argument("--log-path", default="", metavar="REL")
    p.add_argument("--tty", action="store_true")
    p.add_argument("--apparmor-profile", default="",
                   help="unconfined, runtime/default or localhost/NAME")
    # The sandbox config runp used, repeated (see cmd_create).
    p.add_argument("--pod-name", default="")
    p.add_argument("--pod-namespace", default="")
    p.add_argument("--pod-uid", default="")
    p.add_argument("--pod-hostname", default="")
    p.add_argument("--pod-cgroup-parent", default="")
    p.add_argument("--pod-log-dir", default="")
    p.add_argument("--host-network", action="store_true")
    p.set_defaults(func=cmd_create)
    return p


def _add_simple(sub, name, dest, func, help_text):
    p = sub.add_parser(name, help=help_text)
    p.add_argument(dest)
    p.set_defaults(func=func)
    return p


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="CRI unix socket path")
    parser.add_argument("--timeout", dest="rpc_timeout", type=float,
                        default=60.0, metavar="S",
                        help="per-call deadline in seconds (default 60)")
    sub = parser.add_subparsers(dest="command_name", required=True)
    sub.add_parser("version", help="Version").set_defaults(func=cmd_version)
    _add_runp(sub)
    create = _add_create(sub)
    _add_simple(sub, "start", "id", cmd_start, "StartContainer")
    stop = _add_simple(sub, "stop", "id", cmd_stop, "StopContainer")
    stop.add_argument("--timeout", dest="stop_timeout", type=int, default=0,
                      help="grace period in seconds")
    _add_simple(sub, "rm", "id", cmd_rm, "RemoveContainer")
    _add_simple(sub, "stopp", "pod", cmd_stopp, "StopPodSandbox")
    _add_simple(sub, "rmp", "pod", cmd_rmp, "RemovePodSandbox")
    _add_simple(sub, "status", "id", cmd_status, "ContainerStatus")
    _add_simple(sub, "pod-status", "pod", cmd_pod_status, "PodSandboxStatus")
    ex = _add_simple(sub, "exec-sync", "id", cmd_exec_sync, "ExecSync")
    ex.add_argument("--timeout", dest="exec_timeout", type=int, default=0,
                    help="command timeout in seconds (0: none)")
    # The command after "--" is split off by split_exec_command().
    ex.set_defaults(cmd=[])
    up = _add_simple(sub, "update", "id", cmd_update, "UpdateContainerResources")
    up.add_argument("--memory", type=int, metavar="BYTES")
    up.add_argument("--cpu-quota", type=int)
    up.add_argument("--cpu-period", type=int)
    up.add_argument("--cpu-shares", type=int)
    sub.add_parser("ps", help="ListContainers").set_defaults(func=cmd_ps)
    flags = {s for a in create._actions for s in a.option_strings}
    return parser, flags


def _subcommand_index(argv):
    """Index of the subcommand word, skipping '--socket P' / '--timeout T'."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 1 if "=" in argv[i] else 2
    return i


def fold_word_lists(argv, create_flags):
    """Rewrite `create ... --command sh -c X` as --command=sh --command=-c ...

    argparse stops a multi-word option at the first dash-leading word, so
    `--command sh -c 'echo hi'` would fail on "-c".  Here every word up to
    the next option `create` itself knows becomes its own `--opt=word`,
    which argparse accepts whatever the word looks like.
    """
    start = _subcommand_index(argv) + 1
    if argv[start - 1:start] != ["create"]:
        return argv
    out, opt = argv[:start], None
    for word in argv[start:]:
        if word in WORD_LIST_OPTIONS:
            opt = word
        elif opt and word not in create_flags and word != "--":
            out.append("%s=%s" % (opt, word))
        else:
            opt = None
            if word != "--":
                out.append(word)
    return out


def split_exec_command(argv):
    """Split `exec-sync ID [--timeout S] -- CMD...` into (options, CMD).

    argparse cannot take a positional ID, then options, then a free-form
    command: a REMAINDER swallows the options and a '*' positional binds
    empty before them.  So the command is cut off at the first "--".
    """
    start = _subcommand_index(argv)
    if argv[start:start + 1] != ["exec-sync"] or "--" not in argv[start:]:
        return argv, []
    cut = argv.index("--", start)
    return argv[:cut], argv[cut + 1:]


def main(argv=None):
    parser, create_flags = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    argv, exec_command = split_exec_command(argv)
    args = parser.parse_args(fold_word_lists(argv, create_flags))
    if args.command_name == "exec-sync":
        args.cmd = exec_command
    client = CriClient(args.socket, args.rpc_timeout)
    try:
        result = args.func(client, args)
    except RpcError as err:
        print(err, file=sys.stderr)
        return 1
    finally:
        client.close()
    json.dump(result, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
