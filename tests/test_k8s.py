"""deploy/k8s cannot run here (no cluster); this keeps it honest, offline.

The kustomizations are rendered (by a small renderer for the subset they use, checked against `kubectl kustomize`
where kubectl is installed), every object is validated against the Kubernetes OpenAPI schemas shipped by the
`kubernetes-validate` package (strict: no unknown fields), and the pieces are checked against each other and
against the code: every variable a Deployment sets is a setting its service reads, every Secret and ConfigMap key
referenced is defined (Secrets: in deploy/k8s/secrets.example.yaml), probe paths are routes of the apps, selectors
match the pods' labels, PodDisruptionBudgets and HorizontalPodAutoscalers target existing Deployments, the
autoscalers' lag metric is the one the kit exports, and the network policies deny by default.
"""

from __future__ import annotations

import copy
import importlib
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
KUSTOMIZATIONS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}
SETTINGS = {
    "registration": ("registration.settings", "RegistrationSettings", "registration.app"),
    "rsd": ("rsd.settings", "RsdSettings", "rsd.app"),
    "statelessness": ("statelessness.settings", "StatelessnessSettings", "statelessness.app"),
    "civil-registry-bridge": ("civil_registry_bridge.settings", "BridgeSettings", "civil_registry_bridge.app"),
}
LAG_METRIC = "pana_consumer_lag"  # the HPAs' external metric (prometheus-adapter-rules.yaml, deploy/k8s/README.md)
# Oldest Kubernetes the manifests claim to work on, and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.29.0", "latest")
CLUSTER_SCOPED = {"Namespace"}


# -- rendering: the subset of kustomize the files use (resources, namespace, images, JSON 6902 patches)

def _json_pointer(path: str) -> list[str]:
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def _apply_op(obj, op: dict) -> None:
    *parents, last = _json_pointer(op["path"])
    target = obj
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        index = len(target) if last == "-" else int(last)
        if op["op"] == "add":
            target.insert(index, op["value"])
        elif op["op"] == "replace":
            target[index] = op["value"]
        elif op["op"] == "remove":
            del target[index]
        else:
            raise AssertionError(f"unsupported patch op {op['op']}")
    else:
        if op["op"] in ("add", "replace"):
            assert op["op"] == "add" or last in target, f"replace of a missing {op['path']}"
            target[last] = op["value"]
        elif op["op"] == "remove":
            del target[last]
        else:
            raise AssertionError(f"unsupported patch op {op['op']}")


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
    assert set(kustomization) <= known, f"{directory}: the renderer knows {known}, not {set(kustomization) - known}"
    objects: list[dict] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if path.is_dir():
            objects.extend(render(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        matched = [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]]
        assert len(matched) == 1, f"{directory}: patch target {target} matches {len(matched)} objects"
        for op in yaml.safe_load(patch["patch"]):
            _apply_op(matched[0], op)
    for image in kustomization.get("images", []):
        for obj in objects:
            for container in pod_spec(obj).get("containers", []) if obj["kind"] == "Deployment" else []:
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    return objects


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def key(obj: dict) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


@pytest.fixture(scope="module", params=sorted(KUSTOMIZATIONS))
def rendered(request) -> tuple[str, list[dict]]:
    return request.param, render(KUSTOMIZATIONS[request.param])


def of_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def secrets_template() -> dict[str, set[str]]:
    docs = [d for d in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text()) if d]
    assert all(d["kind"] == "Secret" for d in docs)
    return {d["metadata"]["name"]: set(d.get("stringData", {})) | set(d.get("data", {})) for d in docs}


# -- rendering and schemas

@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed: the Python renderer alone")
@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_the_renderer_agrees_with_kubectl_kustomize(name):
    out = subprocess.run(["kubectl", "kustomize", str(KUSTOMIZATIONS[name])], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    theirs = {key(o): o for o in yaml.safe_load_all(out) if o}
    ours = {key(o): o for o in render(KUSTOMIZATIONS[name])}
    assert theirs == ours


def test_every_object_is_valid_for_the_kubernetes_schemas(rendered):
    import kubernetes_validate

    _, objects = rendered
    for version in KUBERNETES_VERSIONS:
        version = kubernetes_validate.utils.latest_version() if version == "latest" else version
        for obj in objects:
            try:
                kubernetes_validate.validate(copy.deepcopy(obj), version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{key(obj)} on Kubernetes {version}: {exc.message} at "
                                     f"{'/'.join(map(str, exc.path))}") from None
    assert not [k for k, n in _counts(objects).items() if n > 1], "an object is defined twice"


def _counts(objects):
    counts: dict = {}
    for o in objects:
        counts[key(o)] = counts.get(key(o), 0) + 1
    return counts


def test_the_secrets_template_is_valid_and_never_part_of_a_kustomization():
    import kubernetes_validate

    for doc in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text()):
        kubernetes_validate.validate(doc, kubernetes_validate.utils.latest_version(), strict=True)
    for directory in KUSTOMIZATIONS.values():
        assert not of_kind(render(directory), "Secret"), "Secrets are created from the template, never applied from git"


# -- the services

def test_one_deployment_per_service_from_the_one_image(rendered):
    _, objects = rendered
    deployments = of_kind(objects, "Deployment")
    assert set(deployments) == set(SETTINGS)
    for name, deployment in deployments.items():
        (container,) = pod_spec(deployment)["containers"]
        assert container["image"].rsplit("/", 1)[-1].startswith(f"pana-{name}:"), "the root Dockerfile's image"
        assert container["command"] == ["pana-service"]
        assert [p["containerPort"] for p in container["ports"]] == [8000]


def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_variable_set_is_a_setting_of_the_service_and_secrets_are_never_inline(service):
    from pana_kit.settings import ENV_PREFIX

    module, cls_name, _ = SETTINGS[service]
    cls = getattr(importlib.import_module(module), cls_name)
    prefix = ENV_PREFIX[service]
    (container,) = pod_spec(of_kind(render(KUSTOMIZATIONS["production"]), "Deployment")[service])["containers"]
    env = _env(container)
    for name in env:
        assert name.startswith(prefix), f"{service}: {name} is not one of its variables"
        assert name[len(prefix):].lower() in cls.model_fields, f"{service}: {name} is not a setting it reads"
    assert env[f"{prefix}DEV_MODE"]["value"] == "false"
    assert env[f"{prefix}PORT"]["value"] == "8000"
    for field, info in cls.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        variable = f"{prefix}{field.upper()}"
        if extra.get("secret") and variable in env and not variable.endswith(("_PATH", "_FILE")):  # files: below
            assert "secretKeyRef" in env[variable].get("valueFrom", {}), f"{variable}: a secret, from a Secret"
    for variable in ("DATABASE_URL", "KAFKA_SASL_PASSWORD"):
        assert "secretKeyRef" in env[f"{prefix}{variable}"]["valueFrom"], f"{prefix}{variable}: from a Secret"
    assert env[f"{prefix}KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
    for required in ("AUTH_ISSUER", "AUTH_JWKS_URL", "KEYRING_FILE", "KAFKA_BOOTSTRAP", "DATABASE_URL"):
        assert f"{prefix}{required}" in env, f"{service}: {prefix}{required} is needed in production"


def test_every_secret_and_configmap_key_referenced_is_defined(rendered):
    _, objects = rendered
    template = secrets_template()
    configmaps = {name: set(cm.get("data", {})) for name, cm in of_kind(objects, "ConfigMap").items()}
    used: dict[str, set[str]] = {}
    for name, deployment in of_kind(objects, "Deployment").items():
        spec = pod_spec(deployment)
        for container in spec["containers"]:
            for variable in container.get("env", []):
                source = variable.get("valueFrom", {})
                if "secretKeyRef" in source:
                    ref = source["secretKeyRef"]
                    assert ref["key"] in template.get(ref["name"], ()), f"{name}: Secret {ref['name']}/{ref['key']}"
                    used.setdefault(ref["name"], set()).add(ref["key"])
                if "configMapKeyRef" in source:
                    ref = source["configMapKeyRef"]
                    assert ref["key"] in configmaps.get(ref["name"], ()), f"{name}: ConfigMap {ref['name']}/{ref['key']}"
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                secret = volume["secret"]
                items = [i["key"] for i in secret.get("items", [])]
                assert items, f"{name}: volume {volume['name']} projects named keys only"
                for item in items:
                    assert item in template.get(secret["secretName"], ()), f"{name}: Secret {secret['secretName']}/{item}"
                used.setdefault(secret["secretName"], set()).update(items)
    assert used == template, "the template lists exactly the keys the manifests use"


def test_file_settings_point_into_the_mounted_secret_files(rendered):
    _, objects = rendered
    for name, deployment in of_kind(objects, "Deployment").items():
        spec = pod_spec(deployment)
        volumes = {v["name"]: v for v in spec["volumes"]}
        (container,) = spec["containers"]
        files = set()
        for mount in container["volumeMounts"]:
            volume = volumes[mount["name"]]
            if "secret" in volume:
                assert mount.get("readOnly") is True
                files |= {f"{mount['mountPath']}/{i['path']}" for i in volume["secret"]["items"]}
        for variable, entry in _env(container).items():
            if variable.endswith(("_FILE", "_PATH", "_CAFILE")) and not variable.endswith("STATE_DIR"):
                assert entry.get("value") in files, f"{name}: {variable}={entry.get('value')} is no mounted file"


def test_pods_are_unprivileged_with_a_read_only_root(rendered):
    _, objects = rendered
    for name, deployment in of_kind(objects, "Deployment").items():
        spec = pod_spec(deployment)
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001, "the image's user pana"
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context.get("privileged", False) is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            writable = {m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]}
            state = next(e["value"] for n, e in _env(container).items() if n.endswith("STATE_DIR"))
            assert {state, "/tmp"} <= writable, f"{name}: its state directory and /tmp are the only writable places"
            for kind in ("cpu", "memory"):
                assert kind in container["resources"]["requests"] and kind in container["resources"]["limits"]


def _app_paths(service: str) -> set[str]:
    module, cls_name, app_module = SETTINGS[service]
    settings = getattr(importlib.import_module(module), cls_name)(dev_mode=True, host="127.0.0.1")
    app = importlib.import_module(app_module).create(settings)
    return set(app.openapi()["paths"])


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_probes_ask_the_real_health_endpoints(service):
    paths = _app_paths(service)
    (container,) = pod_spec(of_kind(render(KUSTOMIZATIONS["base"]), "Deployment")[service])["containers"]
    ports = {p["name"] for p in container["ports"]}
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert get["path"] == path and get["path"] in paths, f"{service}: {probe} on {get['path']}"
        assert get["port"] in ports
    # migrations run at start, before /healthz answers: the startup probe waits minutes, not seconds
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


def test_services_pdbs_and_autoscalers_match_the_deployments(rendered):
    _, objects = rendered
    deployments = of_kind(objects, "Deployment")
    for name, deployment in deployments.items():
        assert deployment["spec"]["selector"]["matchLabels"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()

    def selects(selector: dict) -> list[str]:
        return [n for n, d in deployments.items()
                if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()]

    for name, service in of_kind(objects, "Service").items():
        assert selects(service["spec"]["selector"]) == [name]
        (container,) = pod_spec(deployments[name])["containers"]
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= {p["name"] for p in container["ports"]}
    pdbs, hpas = of_kind(objects, "PodDisruptionBudget"), of_kind(objects, "HorizontalPodAutoscaler")
    assert set(pdbs) == set(hpas) == set(deployments) == set(of_kind(objects, "Service"))
    accounts = set(of_kind(objects, "ServiceAccount"))
    for name in deployments:
        assert pod_spec(deployments[name])["serviceAccountName"] in accounts
        assert selects(pdbs[name]["spec"]["selector"]["matchLabels"]) == [name]
        hpa = hpas[name]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        # a drain can always evict one pod: more replicas than the budget keeps
        assert hpa["minReplicas"] > pdbs[name]["spec"]["minAvailable"]
        assert deployments[name]["spec"]["replicas"] >= hpa["minReplicas"]
        metrics = {m["type"]: m for m in hpa["metrics"]}
        assert metrics["Resource"]["resource"]["name"] == "cpu"
        external = metrics["External"]["external"]
        assert external["metric"]["name"] == LAG_METRIC
        assert external["metric"]["selector"]["matchLabels"] == {"service": name}
        assert external["target"]["type"] == "AverageValue"


def test_the_lag_metric_is_the_one_the_kit_exports():
    from prometheus_client import REGISTRY

    import pana_kit.metrics  # noqa: F401  (registers the kit's metrics)

    names = {metric.name: metric for metric in REGISTRY.collect()}
    rules = yaml.safe_load((K8S / "prometheus-adapter-rules.yaml").read_text())
    assert rules["externalRules"][0]["name"]["as"] == LAG_METRIC
    if LAG_METRIC not in names:
        pytest.skip(f"{LAG_METRIC} is not exported by pana_kit.metrics yet (the observability work adds it)")
    collector = getattr(pana_kit.metrics, "CONSUMER_LAG", None)
    assert collector is not None and "service" in collector._labelnames, "the HPA selects the lag by service"


def test_network_policies_deny_by_default_and_allow_what_pana_needs(rendered):
    _, objects = rendered
    policies = of_kind(objects, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    labels = {name: d["spec"]["template"]["metadata"]["labels"] for name, d in of_kind(objects, "Deployment").items()}

    def rules_for(service: str, direction: str) -> list[dict]:
        return [rule for p in policies.values() if direction in p["spec"]["policyTypes"]
                and p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels[service].items()
                for rule in p["spec"].get(direction.lower(), [])]

    for service in labels:
        ingress = rules_for(service, "Ingress")
        assert ingress and all(p["port"] == "http" for r in ingress for p in r["ports"]), "the service port only"
        egress_ports = {(p["port"], p["protocol"]) for r in rules_for(service, "Egress") for p in r["ports"]}
        assert {(53, "UDP"), (53, "TCP"), (9093, "TCP"), (5432, "TCP")} <= egress_ports, service
        assert (8080, "TCP") in egress_ports or (443, "TCP") in egress_ports, f"{service}: the identity provider"
    blocks = [r for r in rules_for("civil-registry-bridge", "Egress") for peer in r["to"] if "ipBlock" in peer]
    assert blocks, "the bridge reaches the civil registry"
    for service in set(labels) - {"civil-registry-bridge"}:
        assert not [r for r in rules_for(service, "Egress") for peer in r["to"] if "ipBlock" in peer], service


def test_production_enforces_the_restricted_pod_security_standard():
    objects = render(KUSTOMIZATIONS["production"])
    (namespace,) = of_kind(objects, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {namespace["metadata"]["name"]}
