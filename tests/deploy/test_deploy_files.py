"""deploy/: what can be checked without Docker or Kubernetes (neither runs here).

The YAML parses and has the promised shape, every TANDEM_* variable it sets is a real setting
with a valid value, the Dockerfile runs as non-root with a health check and copies paths that
exist, and nginx itself accepts deploy/nginx.conf (hub host names pointed at loopback).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from server.config import build_config
from tests.support.services import require_executable

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _tandem_env(env: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in env.items() if k.startswith("TANDEM_")}


def _check_settings(env: dict[str, str]) -> None:
    known = {"TANDEM_AUTH_SECRET"}  # the auth setting (issue 3) is not a field of this build
    config = build_config({}, {k: v for k, v in env.items() if k not in known})
    fields = {"TANDEM_" + name.upper() for name in type(config).__dataclass_fields__}
    unknown = set(env) - fields - known
    assert not unknown, f"not Tandem settings: {unknown}"


def test_compose_runs_redis_three_hubs_and_nginx() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "hub1", "hub2", "hub3", "nginx"}
    for name in ("hub1", "hub2", "hub3"):
        hub = services[name]
        assert (DEPLOY / hub["build"]["context"] / hub["build"]["dockerfile"]).exists()
        env = {k: v for k, v in _tandem_env(hub["environment"]).items() if "${" not in v}
        assert env["TANDEM_STORE"] == "redis://redis:6379/0"
        _check_settings(env)
        assert hub["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "--appendonly" in services["redis"]["command"]
    mount = services["nginx"]["volumes"][0].split(":")
    assert (DEPLOY / mount[0]).resolve() == DEPLOY / "nginx.conf"
    nginx_conf = (DEPLOY / "nginx.conf").read_text()
    upstreams = re.findall(r"server (hub\d):8000", nginx_conf)
    assert upstreams == ["hub1", "hub2", "hub3"]
    # A document's editors go to one hub; the hubs believe nginx's X-Forwarded-For.
    assert re.search(r"upstream tandem \{\s*hash \$tandem_doc consistent;", nginx_conf)
    nginx_address = services["nginx"]["networks"]["tandem"]["ipv4_address"]
    for name in ("hub1", "hub2", "hub3"):
        assert services[name]["environment"]["TANDEM_FORWARDED_ALLOW_IPS"] == nginx_address
        assert services[name]["networks"] == ["tandem"]


def test_kubernetes_manifests() -> None:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc)
        by_kind.setdefault(doc["kind"], []).append(doc)
    assert {"Deployment", "Service", "ConfigMap", "StatefulSet"} <= set(by_kind)

    config = next(c for c in by_kind["ConfigMap"] if c["metadata"]["name"] == "tandem-config")
    _check_settings(config["data"])
    assert config["data"]["TANDEM_STORE"].startswith("redis://tandem-redis:")
    assert config["data"]["TANDEM_FORWARDED_ALLOW_IPS"]  # the ingress controller's pods

    hubs = next(d for d in by_kind["Deployment"] if d["metadata"]["name"] == "tandem")
    pod = hubs["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 15
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["envFrom"][0]["configMapRef"]["name"] == "tandem-config"
    selector = hubs["spec"]["selector"]["matchLabels"]
    assert hubs["spec"]["template"]["metadata"]["labels"] == selector
    services = {s["metadata"]["name"]: s for s in by_kind["Service"]}
    assert services["tandem"]["spec"]["selector"] == selector
    assert services["tandem-ws"]["spec"]["selector"] == selector
    assert services["tandem-redis"]["spec"]["ports"][0]["port"] == 6379

    # y-websocket paths are hashed on the document (their own backend); the rest round-robin.
    ingresses = {i["metadata"]["name"]: i for i in by_kind["Ingress"]}

    def route(ingress: dict[str, Any]) -> tuple[str, str]:
        (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
        return path["path"], path["backend"]["service"]["name"]

    hashed = ingresses["tandem-ws"]
    assert route(hashed) == ("/ws/", "tandem-ws")
    assert hashed["metadata"]["annotations"]["nginx.ingress.kubernetes.io/upstream-hash-by"]
    assert route(ingresses["tandem"]) == ("/", "tandem")
    assert "upstream-hash-by" not in str(ingresses["tandem"]["metadata"]["annotations"])


def test_dockerfile_is_slim_non_root_and_checks_health() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    final_stage = text.split("\nFROM ")[-1]
    user = re.findall(r"^USER (\S+)", final_stage, re.M)
    assert user and user[-1] not in {"root", "0"}
    assert "HEALTHCHECK" in final_stage and "/healthz" in final_stage
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M):
        for path in source.split():
            assert (DEPLOY.parent / path).exists(), f"COPY {path}: no such file"
    env = dict(re.findall(r"(TANDEM_\w+)=(\S+)", text))
    _check_settings(env)


def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    nginx = require_executable("nginx", "/usr/sbin/nginx")
    conf = (DEPLOY / "nginx.conf").read_text()
    conf = re.sub(r"server hub\d:8000", "server 127.0.0.1:9", conf)
    conf = conf.replace("/dev/stdout", str(tmp_path / "access.log"))
    conf = conf.replace("/dev/stderr", str(tmp_path / "error.log"))
    (tmp_path / "nginx.conf").write_text(f"pid {tmp_path}/nginx.pid;\n" + conf)
    log, conf_path = str(tmp_path / "error.log"), str(tmp_path / "nginx.conf")
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-e", log, "-c", conf_path],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_the_local_cluster_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(DEPLOY / "local-cluster.sh")], check=True, timeout=10)
    usage = subprocess.run(
        ["bash", str(DEPLOY / "local-cluster.sh")], capture_output=True, text=True, timeout=10
    )
    assert usage.returncode == 0 and "start" in usage.stdout and "kill-hub" in usage.stdout
