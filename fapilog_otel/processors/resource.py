"""Resource enrichers: who is logging (host, process, runtime, Kubernetes pod).

These describe the process, not each record, so they go into the container's ``Resource``
once, when the container is made (sent once per request in OTLP), under the names of the
OpenTelemetry semantic conventions. Attributes the application sets
(``OTEL_RESOURCE_ATTRIBUTES``, ``service_name``) win over detected ones. Name them in
``FAPILOG_PROCESSORS`` (``host,process,runtime,k8s``).

``process`` leaves out ``process.command_args`` and ``process.command_line`` on purpose:
command lines often carry secrets.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import platform
import socket
import sys
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["HostDetector", "KubernetesDetector", "ProcessDetector", "RuntimeDetector"]

#: ``platform.machine()`` values to the semantic conventions' ``host.arch`` values.
_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm32",
    "armv6l": "arm32",
    "i386": "x86",
    "i686": "x86",
    "x86": "x86",
    "ppc64le": "ppc64",
    "ppc64": "ppc64",
    "s390x": "s390x",
    "ia64": "ia64",
}

#: Kubernetes attribute -> the environment variables a pod spec commonly sets for it
#: through the downward API, in order of preference.
K8S_VARIABLES: dict[str, tuple[str, ...]] = {
    "k8s.pod.name": ("K8S_POD_NAME", "POD_NAME", "KUBERNETES_POD_NAME", "MY_POD_NAME"),
    "k8s.pod.uid": ("K8S_POD_UID", "POD_UID", "KUBERNETES_POD_UID", "MY_POD_UID"),
    "k8s.namespace.name": (
        "K8S_NAMESPACE_NAME",
        "K8S_NAMESPACE",
        "POD_NAMESPACE",
        "KUBERNETES_NAMESPACE",
        "MY_POD_NAMESPACE",
    ),
    "k8s.node.name": ("K8S_NODE_NAME", "NODE_NAME", "KUBERNETES_NODE_NAME", "MY_NODE_NAME"),
    "k8s.container.name": ("K8S_CONTAINER_NAME", "CONTAINER_NAME"),
    "k8s.deployment.name": ("K8S_DEPLOYMENT_NAME",),
    "k8s.cluster.name": ("K8S_CLUSTER_NAME",),
}

#: Where a pod's service account token directory tells the namespace.
NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class _Detector:
    kind: ClassVar[str] = "enricher"
    fapilog_api_version: ClassVar[int] = 1
    name: ClassVar[str] = ""

    def resource_attributes(self) -> dict[str, Any]:
        """The attributes this detector finds."""
        raise NotImplementedError


class HostDetector(_Detector):
    """``host.name``, ``host.arch``, ``os.type``, ``os.version``, ``os.description``."""

    name = "host"

    def resource_attributes(self) -> dict[str, Any]:
        """The host's attributes (each left out when it cannot be found)."""
        found: dict[str, Any] = {}
        hostname = socket.gethostname()
        if hostname:
            found["host.name"] = hostname
        machine = platform.machine().lower()
        if machine:
            found["host.arch"] = _ARCH.get(machine, machine)
        system = platform.system().lower()
        if system:
            found["os.type"] = system
        release = platform.release()
        if release:
            found["os.version"] = release
        description = platform.platform()
        if description:
            found["os.description"] = description
        return found


class ProcessDetector(_Detector):
    """``process.pid``, ``process.parent_pid``, ``process.executable.*``, ``process.command``,
    ``process.owner`` (never the command's arguments)."""

    name = "process"

    def resource_attributes(self) -> dict[str, Any]:
        """The process's attributes (each left out when it cannot be found)."""
        found: dict[str, Any] = {"process.pid": os.getpid(), "process.parent_pid": os.getppid()}
        executable = sys.executable
        if executable:
            found["process.executable.path"] = executable
            found["process.executable.name"] = Path(executable).name
        if sys.argv and sys.argv[0]:
            found["process.command"] = sys.argv[0]
        # No user name in some environments (a container without /etc/passwd): leave it out.
        with contextlib.suppress(Exception):
            found["process.owner"] = getpass.getuser()
        return found


class RuntimeDetector(_Detector):
    """``process.runtime.name``, ``process.runtime.version``, ``process.runtime.description``."""

    name = "runtime"

    def resource_attributes(self) -> dict[str, Any]:
        """The Python runtime's attributes."""
        return {
            "process.runtime.name": sys.implementation.name,
            "process.runtime.version": platform.python_version(),
            "process.runtime.description": sys.version,
        }


class KubernetesDetector(_Detector):
    """``k8s.*`` from the downward-API variables of :data:`K8S_VARIABLES`, when present.

    Inside a cluster (``KUBERNETES_SERVICE_HOST`` set) the pod name falls back to the host
    name (a pod's host name is its name) and the namespace to the service account's
    namespace file. Outside a cluster, with none of the variables set, it adds nothing.
    """

    name = "k8s"

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self._environ = environ

    def resource_attributes(self) -> dict[str, Any]:
        """The pod's attributes that the environment gives."""
        env = self._environ if self._environ is not None else os.environ
        found: dict[str, Any] = {}
        for attribute, variables in K8S_VARIABLES.items():
            for variable in variables:
                value = env.get(variable, "").strip()
                if value:
                    found[attribute] = value
                    break
        if env.get("KUBERNETES_SERVICE_HOST"):
            found.setdefault("k8s.pod.name", socket.gethostname())
            if "k8s.namespace.name" not in found:
                try:
                    namespace = NAMESPACE_FILE.read_text(encoding="utf-8").strip()
                except OSError:
                    namespace = ""
                if namespace:
                    found["k8s.namespace.name"] = namespace
        return found
