"""Runs the SAM CLI with every Lambda container on the host network, reachable on loopback only.

SAM CLI 1.170 ignores `--docker-network host` (its container.py skips network.connect for
"host" and never sets network_mode), so its containers land on the default bridge, where
127.0.0.1 is the container itself and the local AWS on the host's loopback is out of reach.
This launcher patches docker-py's ContainerCollection.create so each container is created with
network_mode="host", without port publishing, with the Runtime Interface Emulator bound to
127.0.0.1 on the port SAM will call (and a free loopback port for the Runtime API).

Usage (scripts/sam-local.sh): python scripts/sam_local_launcher.py local invoke ...
"""
import socket
import sys

import docker.models.containers as containers

_create = containers.ContainerCollection.create
RIE_CONTAINER_PORT = "8080"


def _free_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_on_host_network(self, image, command=None, **kwargs):
    ports = kwargs.pop("ports", None) or {}
    mapping = ports.get(RIE_CONTAINER_PORT) or ports.get(int(RIE_CONTAINER_PORT))
    entry = list(kwargs.get("entrypoint") or [])
    if mapping and entry and entry[0].endswith("aws-lambda-rie"):
        host_port = mapping[1] if isinstance(mapping, tuple) else mapping
        entry[1:1] = [
            "--runtime-interface-emulator-address", f"127.0.0.1:{host_port}",
            "--runtime-api-address", f"127.0.0.1:{_free_loopback_port()}",
        ]
        kwargs["entrypoint"] = entry
    kwargs["network_mode"] = "host"
    kwargs.pop("network", None)
    return _create(self, image, command, **kwargs)


containers.ContainerCollection.create = _create_on_host_network

from samcli.cli.main import cli  # noqa: E402  (after the patch, as SAM imports docker-py)

if __name__ == "__main__":
    sys.argv[0] = "sam"
    cli()
