"""MLflow look-ups for backtests, the gate and the live runner: which model, trained by which run,
on which data.

A model is named by a training run id (32 hex digits), a registered version number of
`mlflow.model_name`, or a URI (`models:/<name>@<alias>`, `models:/<name>/<version>`,
`runs:/<run_id>/model`, `models:/m-<id>`; a local model directory also works, without a run).
Every look-up failure is a `LookupError` whose message says what was not found and where.

What a registered version was trained on is `Registry.provenance(ref)`, a frozen
hftlab.models.provenance.Provenance read from the version's tags:

    reg = Registry.from_config(settings.mlflow)
    champion = reg.alias("champion")                    # ModelRef, or None when there is none
    trained_on = reg.provenance(champion)               # Provenance(world, venue, symbol, timeframe,
                                                        #            feature_spec_hash); None = not recorded
    runtime = Provenance(world="okx", symbol="BTC-USDT", timeframe="1s", feature_spec_hash=spec_hash(spec))
    problems = trained_on.differences(runtime)          # [] when it may trade here, else e.g.
                                                        # ["timeframe 1m vs 1s", "world sim vs okx"]
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hftlab.models.provenance import Provenance
from hftlab.models.tracking import CHAMPION

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_VERSION = re.compile(r"^[1-9][0-9]*$")
_MODELS = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>[0-9]+))$")
_RUNS = re.compile(r"^runs:/(?P<run>[0-9a-f]{32})/")
REPORT = "report.json"


@dataclass(frozen=True)
class ModelRef:
    uri: str                # what hftlab.models.predictor.load_model loads
    name: str | None = None
    version: str | None = None
    run_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}" if self.name and self.version else self.uri


class Registry:
    def __init__(self, tracking_uri: str, model_name: str):
        from hftlab.models.tracking import import_mlflow

        self.mlflow = import_mlflow()
        if tracking_uri.startswith("sqlite:///"):
            # a store not created yet is an empty one (clean "not found" answers, not a SQLite error)
            Path(tracking_uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        self.name = model_name
        self.client = self.mlflow.MlflowClient(tracking_uri, registry_uri=tracking_uri)

    @classmethod
    def from_config(cls, cfg) -> Registry:
        """From the `mlflow` section (hftlab.models.config.MlflowConfig, resolved by hftlab.settings)."""
        return cls(cfg.tracking_uri, cfg.model_name)

    def _version(self, name: str, version: str) -> ModelRef:
        try:
            mv = self.client.get_model_version(name, version)
        except self.mlflow.exceptions.MlflowException:
            raise LookupError(f"no version {version} of model {name!r} in {self.tracking_uri}") from None
        return ModelRef(f"models:/{name}/{mv.version}", name, str(mv.version), mv.run_id)

    def _of_run(self, run_id: str) -> ModelRef:
        try:
            self.client.get_run(run_id)
        except self.mlflow.exceptions.MlflowException:
            raise LookupError(f"no run {run_id} in {self.tracking_uri}") from None
        versions = [v for v in self.client.search_model_versions(f"run_id='{run_id}'") if v.name == self.name]
        if not versions:
            raise LookupError(f"run {run_id} registered no version of {self.name!r} (a training run registers one)")
        mv = max(versions, key=lambda v: int(v.version))
        return ModelRef(f"models:/{self.name}/{mv.version}", self.name, str(mv.version), run_id)

    def resolve(self, ident: str) -> ModelRef:
        """A run id, a version number of `model_name`, a model URI or a local model directory."""
        ident = ident.strip()
        if _VERSION.match(ident):
            return self._version(self.name, ident)
        if _RUN_ID.match(ident):
            return self._of_run(ident)
        m = _MODELS.match(ident)
        if m and m["alias"]:
            ref = self.alias(m["alias"], m["name"])
            if ref is None:
                raise LookupError(f"model {m['name']!r} has no alias {m['alias']!r} in {self.tracking_uri}")
            return ref
        if m:
            return self._version(m["name"], m["version"])
        m = _RUNS.match(ident)
        if m:
            return ModelRef(ident, run_id=m["run"])
        if ident.startswith("models:/m-"):
            try:
                run_id = self.client.get_logged_model(ident[len("models:/"):]).source_run_id
            except self.mlflow.exceptions.MlflowException:
                raise LookupError(f"no logged model {ident} in {self.tracking_uri}") from None
            return ModelRef(ident, run_id=run_id)
        if Path(ident).is_dir():
            return ModelRef(str(Path(ident).resolve()))
        raise LookupError(f"{ident!r} is not a run id (32 hex digits), a version number, a models:/ or runs:/ URI "
                          "or a model directory")

    def alias(self, alias: str = CHAMPION, name: str | None = None) -> ModelRef | None:
        name = name or self.name
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
        except self.mlflow.exceptions.MlflowException:
            return None
        return ModelRef(f"models:/{name}/{mv.version}", name, str(mv.version), mv.run_id)

    def latest(self, name: str | None = None) -> ModelRef | None:
        """The newest registered version of `name` (default `model_name`), or None when there is none."""
        name = name or self.name
        try:
            versions = self.client.search_model_versions(f"name='{name}'")
        except self.mlflow.exceptions.MlflowException:
            return None
        if not versions:
            return None
        mv = max(versions, key=lambda v: int(v.version))
        return ModelRef(f"models:/{name}/{mv.version}", name, str(mv.version), mv.run_id)

    def provenance(self, ref: ModelRef) -> Provenance:
        """What the registered version `ref` was trained on, from its model-version tags (fields it
        does not record are None). LookupError when `ref` is not a registered version or the store
        has no such version."""
        if ref.name is None or ref.version is None:
            raise LookupError(f"{ref.label} is not a registered version: only a version records its provenance")
        try:
            mv = self.client.get_model_version(ref.name, ref.version)
        except self.mlflow.exceptions.MlflowException:
            raise LookupError(f"no version {ref.version} of model {ref.name!r} in {self.tracking_uri}") from None
        return Provenance.from_tags(mv.tags)

    def load(self, ref: ModelRef):
        from hftlab.models.predictor import load_model

        return load_model(ref.uri, tracking_uri=self.tracking_uri, backend="torch")

    def report(self, run_id: str) -> dict:
        """The training report (report.json) of a run."""
        with tempfile.TemporaryDirectory(prefix="hftlab-report-") as tmp:
            try:
                path = self.client.download_artifacts(run_id, REPORT, tmp)
            except (self.mlflow.exceptions.MlflowException, OSError):
                raise LookupError(f"run {run_id} has no {REPORT} (not a training run of hftlab train?)") from None
            return json.loads(Path(path).read_text())

    def run_info(self, run_id: str) -> tuple[dict[str, str], dict[str, str]]:
        """(tags, params) of a run."""
        run = self.client.get_run(run_id)
        return dict(run.data.tags), dict(run.data.params)

    def tag_version(self, ref: ModelRef, tags: dict[str, str]) -> None:
        for k, v in tags.items():
            self.client.set_model_version_tag(ref.name, ref.version, k, str(v))

    def set_alias(self, ref: ModelRef, alias: str) -> None:
        from hftlab.models.tracking import set_alias

        set_alias(ref.name, ref.version, alias, self.tracking_uri)
