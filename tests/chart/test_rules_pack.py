"""The chart ships the repository's default rules pack, byte for byte, in a form the engine loads.

files/rules and files/playbooks in the chart are symlinks to the repository's rules/ and playbooks/:
one source of truth, so the chart's copy cannot drift (README.md, "The default rules pack").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tagent.policy import files as pack_files
from tagent.policy.validate import check_paths
from tests.chart.render import CHART, RELEASE, REPO, Rendered, render

CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
CONFIGMAP_LIMIT = 1024 * 1024  # bytes: the API server rejects a larger ConfigMap


def repo_pack() -> dict[str, bytes]:
    """relative path -> content of every YAML file of the repository's default pack."""
    found: dict[str, bytes] = {}
    for directory in pack_files.PACK_DIRS:
        for file in pack_files.yaml_files(REPO / directory):
            found[file.relative_to(REPO).as_posix()] = file.read_bytes()
    return found


@pytest.fixture(scope="module")
def default() -> Rendered:
    return render()


def project(rendered: Rendered, root: Path) -> Path:
    """Lay the rules ConfigMap out like the kubelet does for a volume with `items`: the files under a
    timestamped directory, `..data` pointing at it, and each top-level entry a symlink through `..data`."""
    configmap = rendered.get("ConfigMap", f"{RELEASE}-rules")
    volume = next(v for v in rendered.deployment("engine")["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "rules-pack")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    stamp = root / "..2026_01_01_00_00_00.000000001"
    for item in volume["configMap"]["items"]:
        target = stamp / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(configmap["data"][item["key"]], encoding="utf-8")
    (root / "..data").symlink_to(stamp.name)
    for top in {Path(item["path"]).parts[0] for item in volume["configMap"]["items"]}:
        (root / top).symlink_to(f"..data/{top}")
    return root


def test_chart_links_to_the_repository_pack() -> None:
    for directory in pack_files.PACK_DIRS:
        link = CHART / "files" / directory
        assert link.is_symlink(), f"{link} should link to the repository's {directory}/"
        assert link.resolve() == (REPO / directory).resolve()


def test_configmap_holds_every_file_of_the_pack_unchanged(default: Rendered) -> None:
    pack = repo_pack()
    assert pack, "the repository has no default rules pack"
    configmap = default.get("ConfigMap", f"{RELEASE}-rules")
    items = next(v for v in default.deployment("engine")["spec"]["template"]["spec"]["volumes"]
                 if v["name"] == "rules-pack")["configMap"]["items"]
    shipped = {item["path"]: configmap["data"][item["key"]].encode("utf-8") for item in items}
    assert shipped == pack
    assert set(configmap["data"]) == {item["key"] for item in items}
    assert all(CONFIGMAP_KEY.match(key) for key in configmap["data"])
    assert sum(len(v.encode()) for v in configmap["data"].values()) < CONFIGMAP_LIMIT


def test_the_engine_loads_the_mounted_pack(default: Rendered, tmp_path: Path) -> None:
    """What the engine sees at TAGENT_RULES validates as one rule set, with every file of the repo."""
    mount = project(default, tmp_path / "pack")
    assert default.env("engine")["TAGENT_RULES"]["value"] == "/etc/tagent/pack"
    result = check_paths(pack_files.pack_paths(mount), relative_to=mount, promtool=None)
    assert result.ok, [str(p) for p in result.problems]
    assert result.ruleset is not None and len(result.ruleset) > 0
    assert sorted(f.relative_to(mount).as_posix() for f in result.files) == sorted(repo_pack())


def test_a_changed_pack_rolls_the_engine(default: Rendered) -> None:
    """The pod template carries a checksum of the ConfigMap, so `helm upgrade` with new rules restarts it."""
    annotations = default.deployment("engine")["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{64}", annotations["checksum/rules"])
    other = render({"nameOverride": "sre"})  # a different ConfigMap (its labels change)
    other_annotations = other.get("Deployment", "tagent-sre-engine")["spec"]["template"]["metadata"]["annotations"]
    assert other_annotations["checksum/rules"] != annotations["checksum/rules"]
