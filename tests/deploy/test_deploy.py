"""deploy/: Kubernetes manifests valid against the API schema, compose well formed, real commands.

Every manifest is validated offline with ``kubernetes-validate`` (strict: unknown fields
fail); the compose file gets a structural check. Every ``auditor ...`` command line in
them is checked against the CLI's own ``--help``, and the config they mount loads through
the real config loader.
"""

from __future__ import annotations

import copy
import functools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.config import load_config

kubernetes_validate = pytest.importorskip(
    "kubernetes_validate", reason="needs kubernetes-validate (pip install kubernetes-validate)"
)

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes"
COMPOSE = DEPLOY / "docker-compose.yml"
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
PORT = 9464
SHARDS = 4


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d is not None]


def _all_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in MANIFESTS for doc in _docs(path)]


def _kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in _all_docs() if doc["kind"] == kind]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    match doc["kind"]:
        case "Deployment" | "Job":
            spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        case "CronJob":
            spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        case other:
            raise AssertionError(f"not a workload: {other}")
    return spec


WORKLOADS = [
    (path, doc) for path, doc in _all_docs() if doc["kind"] in {"Deployment", "CronJob", "Job"}
]


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    (container,) = _pod_spec(doc)["containers"]
    return container  # type: ignore[no-any-return]


# --- Kubernetes: schema ------------------------------------------------------------------


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_validates_strictly_against_the_kubernetes_schema(path: Path) -> None:
    """Each document of each manifest validates (strict: no unknown field) for Kubernetes."""
    docs = _docs(path)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def test_the_validator_catches_a_misspelt_field() -> None:
    """A typo (`replica:` for `replicas:`) and a wrong type fail validation: the check can fail."""
    (deployment,) = _kind("Deployment")
    version = kubernetes_validate.latest_version()
    typo = copy.deepcopy(deployment)
    typo["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, version, strict=True)
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, version, strict=True)


def test_kustomization_lists_files_that_exist_and_leaves_out_the_example_secret() -> None:
    """`kubectl apply -k` gets real files, one scheduler (not the CronJob too), no fake Secret."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text("utf-8"))
    resources = kustomization["resources"]
    for name in resources:
        assert (K8S / name).is_file(), name
    assert "deployment.yaml" in resources
    assert "cronjob.yaml" not in resources
    assert not any("secret" in name for name in resources)
    assert kustomization["namespace"] == "sso-auditor"


# --- Kubernetes: what each workload does ---------------------------------------------------


def test_deployment_runs_schedule_with_healthz_probes_on_its_port() -> None:
    """The Deployment serves on 9464 and both probes GET /healthz on that port."""
    (deployment,) = _kind("Deployment")
    container = _container(deployment)
    assert container["args"] == ["schedule", "--listen", f"0.0.0.0:{PORT}"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["path"] == "/healthz"
        assert ports.get(get["port"], get["port"]) == PORT
    (service,) = _kind("Service")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize(
    ("path", "doc"), WORKLOADS, ids=[f"{d['kind']}/{d['metadata']['name']}" for _, d in WORKLOADS]
)
def test_every_workload_is_non_root_with_config_and_secrets_from_the_cluster(
    path: Path, doc: dict[str, Any]
) -> None:
    """Non-root, no escalation, read-only root; config from a ConfigMap, secrets from the Secret."""
    del path
    spec = _pod_spec(doc)
    container = _container(doc)
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] != 0
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert spec["automountServiceAccountToken"] is False

    config_maps = {c["metadata"]["name"] for c in _kind("ConfigMap")}
    sources = container["envFrom"]
    assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= config_maps
    assert [s["secretRef"]["name"] for s in sources if "secretRef" in s] == ["sso-auditor"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert volumes[mounts["/etc/auditor"]]["configMap"]["name"] in config_maps
    # Nothing secret is written into a workload: only refs, and plain non-secret settings.
    assert {e["name"] for e in container.get("env", [])} <= {"AUDITOR_OUTPUT"}


def test_cronjob_audits_every_tenant_and_does_not_retry_findings() -> None:
    """The CronJob runs `audit --all`, never overlaps, and fails at once on exit 1 or 2."""
    (cronjob,) = _kind("CronJob")
    assert _container(cronjob)["args"] == ["audit", "--all"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    rules = cronjob["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    fail_now = next(r for r in rules if r["action"] == "FailJob")
    assert fail_now["onExitCodes"]["values"] == [1, 2]


def test_indexed_job_shards_the_fleet_and_the_report_job_closes_the_same_group() -> None:
    """4 indexes run `--shard $(JOB_COMPLETION_INDEX)/4`; the report Job names the same group."""
    jobs = {doc["metadata"]["labels"]["app.kubernetes.io/component"]: doc for doc in _kind("Job")}
    shards, report = jobs["shard"], jobs["report"]
    assert shards["spec"]["completionMode"] == "Indexed"
    assert shards["spec"]["completions"] == SHARDS
    assert shards["spec"]["parallelism"] == SHARDS
    args = _container(shards)["args"]
    assert args[:2] == ["audit", "--all"]
    assert args[args.index("--shard") + 1] == f"$(JOB_COMPLETION_INDEX)/{SHARDS}"
    group = args[args.index("--run-group") + 1]
    report_args = _container(report)["args"]
    assert report_args[:3] == ["report", "--run-group", group]
    assert int(report_args[report_args.index("--wait") + 1]) >= shards["spec"][
        "activeDeadlineSeconds"
    ]
    # Shards keep their partial reports in the pod; only the report Job writes the output.
    (output,) = _container(shards)["env"]
    assert output == {"name": "AUDITOR_OUTPUT", "value": "/srv/auditor/shard-reports"}
    assert "env" not in _container(report)
    for job in (shards, report):
        assert job["metadata"]["labels"]["auditor.rapticore.io/run-group"] == group
        assert group in job["metadata"]["name"]


# --- docker compose ----------------------------------------------------------------------


@functools.cache
def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return doc


def test_compose_runs_the_auditor_beside_postgresql_with_health_checks() -> None:
    """Two services: auditor (build or image, schedule --listen) after a healthy PostgreSQL."""
    services = _compose()["services"]
    assert set(services) == {"auditor", "postgres"}
    auditor, postgres = services["auditor"], services["postgres"]
    assert auditor["image"]
    assert (DEPLOY / auditor["build"]["context"] / auditor["build"]["dockerfile"]).is_file()
    assert auditor["command"] == ["schedule", "--listen", f"0.0.0.0:{PORT}"]
    assert auditor["depends_on"]["postgres"]["condition"] == "service_healthy"
    probe = " ".join(auditor["healthcheck"]["test"])
    assert f"http://127.0.0.1:{PORT}/healthz" in probe
    assert auditor["healthcheck"]["test"][0] == "CMD"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["image"].startswith("postgres:")
    # Published on loopback only, and the database not at all.
    assert auditor["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
    assert "ports" not in postgres


def test_compose_takes_the_store_url_and_secrets_from_the_environment() -> None:
    """The store URL points at the postgres service; passwords and tokens come from env files."""
    services = _compose()["services"]
    env = services["auditor"]["environment"]
    url = env["AUDITOR_STORE_URL"]
    password = r"\$\{POSTGRES_PASSWORD:\?[^}]+\}"
    assert re.fullmatch(rf"postgresql://auditor:{password}@postgres:5432/auditor", url)
    assert re.fullmatch(password, services["postgres"]["environment"]["POSTGRES_PASSWORD"])
    assert env["AUDITOR_CONFIG"] == "/etc/auditor/auditor.yaml"
    assert services["auditor"]["env_file"] == ["auditor.env"]
    text = COMPOSE.read_text("utf-8")
    assert "OKTA_TOKEN" not in text
    assert "AUDITOR_FINGERPRINT_KEY" not in text
    ignored = (DEPLOY / ".gitignore").read_text("utf-8").split()
    assert {".env", "auditor.env"} <= set(ignored)
    for name in re.findall(r"\$\{(\w+)", text):
        assert name in (DEPLOY / ".env.example").read_text("utf-8"), name


# --- the commands and the config they run with ---------------------------------------------


def _auditor_commands() -> list[tuple[str, list[str]]]:
    found = [("docker-compose.yml", list(_compose()["services"]["auditor"]["command"]))]
    found += [
        (f"{doc['kind']}/{doc['metadata']['name']}", list(_container(doc)["args"]))
        for _, doc in WORKLOADS
    ]
    return found


COMMANDS = _auditor_commands()


@functools.cache
def _help(*command: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "auditor", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    return done.stdout if done.returncode == 0 else ""


def _subcommands() -> set[str]:
    listing = _help().split("positional arguments:", 1)[-1].split("options:", 1)[0]
    return set(re.findall(r"^ {4}(\w[\w-]*)", listing, re.MULTILINE))


@pytest.mark.parametrize(("where", "argv"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_every_command_line_is_a_real_auditor_command(where: str, argv: list[str]) -> None:
    """The subcommand is listed by `auditor --help` and each flag by `auditor <cmd> --help`."""
    del where
    command, flags = argv[0], [a for a in argv[1:] if a.startswith("--")]
    if command not in _subcommands():
        pytest.fail(f"`auditor {command}` is not a command of `auditor --help`")
    text = _help(command)
    for flag in flags:
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
            pytest.fail(f"`auditor {command}` has no flag {flag}")


def test_deploy_config_loads_and_the_configmap_carries_the_same_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """deploy/auditor.yaml loads (PostgreSQL store from env) and equals the ConfigMap's text."""
    (config_map,) = (c for c in _kind("ConfigMap") if "auditor.yaml" in c["data"])
    text = (DEPLOY / "auditor.yaml").read_text("utf-8")
    assert config_map["data"]["auditor.yaml"] == text
    names = set(re.findall(r"\$\{(\w+)\}", text))
    secret = next(doc for doc in _kind("Secret"))
    assert names <= set(secret["stringData"]), "every ${NAME} comes from the Secret"
    env_example = (DEPLOY / "auditor.env.example").read_text("utf-8")
    compose_env = set(_compose()["services"]["auditor"]["environment"])
    for name in names:
        assert name in compose_env or re.search(rf"^{name}=", env_example, re.MULTILINE), name
    for name in names:
        monkeypatch.setenv(name, "postgresql://auditor:pw@postgres:5432/auditor"
                           if name == "AUDITOR_STORE_URL" else "test-value")
    config = load_config(DEPLOY / "auditor.yaml")
    assert config.store.startswith("postgresql://")
    assert [t.id for t in config.tenants] == ["acme"]


def test_readme_covers_every_deploy_file() -> None:
    """deploy/README.md names each file it ships and the 4-shard x 20,000-tenant layout."""
    readme = (DEPLOY / "README.md").read_text("utf-8")
    for path in [COMPOSE, *MANIFESTS, K8S / "kustomization.yaml"]:
        assert path.name in readme, path.name
    assert "20,000" in readme
    assert "--shard" in readme
