"""Network specs: a TOML file plus float weights, turned into a buildable :class:`Network`.

The format (every key is listed; anything else is refused with the allowed keys)::

    [network]
    name = "digits"                  # identifier
    architecture = "stream"          # "stream" (default) or "regenerate"
    dataset = "sklearn-digits"       # optional: what the inputs are (stochflow.hdl.dataset)
    weights = "weights.npz"          # float weights, relative to this file (weights_io) …

    [network.generator]              # … or seeded synthetic weights instead of a file
    kind = "he-normal"               # the only kind
    seed = 7
    bias_std = 0.1                   # optional
    calibration_samples = 512        # optional

    [defaults]                       # knobs every layer gets unless it sets its own
    bitstream_length = 256           # power of two, 16…4096
    precision = 8                    # bits, 2…16, at most the sources' widths
    folding = 8                      # columns per cycle (default: all n_in + 1)
    threshold = 3                    # default: chosen by quantisation (stochflow.hdl.quantise)
    leak = 0
    membrane_bits = 12               # default: smallest safe width + 2
    membrane_init = "half_threshold" # or "zero"
    weight_memory = "logic"          # weight ROM in LUTs, or "block" RAM (folded F ≥ 8 only)

    [defaults.weight_rng]            # the weight source
    kind = "lfsr"                    # "lfsr", "sobol" or "vdc"
    width = 16
    polynomial = 0xD008              # LFSR tap mask (default: XAPP052 table); hex allowed
    seed = 0xACE1                    # LFSR state; Sobol / vdC start index
    structure = "fibonacci"          # or "galois" (LFSR)
    dimension = 1                    # Sobol, 1-based
    decorrelation = "permuted"       # "shared", "permuted", "rotated", "independent"
    allow = []                       # "zero_seed", "non_maximal_polynomial"

    [defaults.input_rng]             # the encoder source of layers that encode inputs
    kind = "sobol"                   # (layer 0; every layer in "regenerate")

    [[layer]]
    name = "hidden"
    inputs = 64
    outputs = 32
    folding = 8                      # any [defaults] knob
    weight_rng = { seed = 0x1234 }   # merged key by key over [defaults.weight_rng]

Source tables merge key by key over the defaults' table, except that a table naming
another ``kind`` starts afresh (``RngSpec`` defaults) and a changed ``width`` drops an
inherited ``polynomial`` (the table's default for the new width applies).
``[defaults.input_rng]`` is given only to the layers that encode inputs.

A per-layer *choice* (the optimiser's ``choice.json``) is applied with
:func:`apply_choice`; its format is documented there.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .config import ARCHITECTURES, LayerConfig, NetworkConfig, RngSpec
from .dataset import DATASETS, Dataset, load_dataset
from .errors import SpecError
from .network import Network
from .quantise import FloatLayer, quantise_layer
from .rng import check_streams
from .weights_io import (
    generated_float_layers,
    load_float_weights,
    load_network_weights,
    save_network_weights,
)

__all__ = [
    "LAYER_KNOBS",
    "NetworkSpec",
    "apply_choice",
    "load_network_weights",
    "load_spec",
    "merge_rng",
    "save_network_weights",
]

NETWORK_KEYS = ("name", "architecture", "dataset", "weights", "generator")
GENERATOR_KEYS = ("kind", "seed", "bias_std", "calibration_samples")
GENERATOR_KINDS = ("he-normal",)
RNG_KEYS = ("kind", "width", "polynomial", "seed", "structure", "dimension", "decorrelation", "allow")
RNG_TABLES = ("weight_rng", "input_rng")
LAYER_KNOBS = (
    "bitstream_length",
    "precision",
    "folding",
    "threshold",
    "leak",
    "membrane_bits",
    "membrane_init",
    "weight_memory",
    "weight_rng",
    "input_rng",
)
LAYER_KEYS = ("name", "inputs", "outputs", *LAYER_KNOBS)
TOP_KEYS = ("network", "defaults", "layer")
# LayerConfig's field names → the spec's key names, for error messages.
_FIELD_TO_KEY = {"n_in": "inputs", "n_out": "outputs"}
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


# --- the spec ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """Knobs per layer plus the float network they quantise; ``build()`` gives a Network.

    Layer knobs are validated one layer at a time; the network-wide rules (chained
    shapes, one length in ``stream``, input sources where inputs are encoded) are
    checked by :attr:`config` and :meth:`build`, so a sequence of per-layer changes may
    pass through inconsistent states.
    """

    name: str
    architecture: str
    layers: tuple[LayerConfig, ...]
    float_layers: tuple[FloatLayer, ...]
    dataset: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if len(self.layers) != len(self.float_layers):
            raise SpecError(
                "layer", f"{len(self.layers)} layers but {len(self.float_layers)} float layers",
                source=self.source,
            )
        for index, (layer, floats) in enumerate(zip(self.layers, self.float_layers, strict=True)):
            if floats.shape != (layer.n_out, layer.n_in):
                raise SpecError(
                    f"layer[{index}].weights",
                    f"expected shape ({layer.n_out}, {layer.n_in}), got {floats.shape}",
                    source=self.source,
                )

    @property
    def config(self) -> NetworkConfig:
        """The validated network configuration (knobs only)."""
        try:
            return NetworkConfig(self.name, self.layers, self.architecture)  # type: ignore[arg-type]
        except SpecError as error:
            raise _keyed(error).with_source(self.source) if self.source else _keyed(error) from None

    @property
    def n_inputs(self) -> int:
        return self.layers[0].n_in

    @cached_property
    def weights_sha256(self) -> str:
        """Identity of the float network (weights, biases, activation scales)."""
        digest = hashlib.sha256()
        for layer in self.float_layers:
            for array in (layer.weight, layer.bias, np.array([layer.input_scale, layer.output_scale])):
                digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
        return digest.hexdigest()

    def layer_index(self, index_or_name: int | str) -> int:
        """A layer's position from its index or name."""
        names = [layer.name for layer in self.layers]
        if isinstance(index_or_name, str) and index_or_name in names:
            return names.index(index_or_name)
        if (
            isinstance(index_or_name, int)
            and not isinstance(index_or_name, bool)
            and 0 <= index_or_name < len(self.layers)
        ):
            return index_or_name
        raise SpecError(
            "layer", f"no layer {index_or_name!r}; layers are 0…{len(names) - 1}: {', '.join(names)}"
        )

    def encodes(self, index: int) -> bool:
        """Whether layer ``index`` encodes its inputs with an input source."""
        return index == 0 or self.architecture == "regenerate"

    def with_layer_knobs(self, index_or_name: int | str, **knobs: Any) -> NetworkSpec:
        """A copy with some knobs of one layer changed (see :data:`LAYER_KNOBS`).

        ``weight_rng`` / ``input_rng`` take an :class:`RngSpec`, ``None``, or a mapping
        merged over the current source (:func:`merge_rng`).
        """
        index = self.layer_index(index_or_name)
        layer = self.layers[index]
        where = f"layer[{index}]"
        changes: dict[str, Any] = {}
        for key, value in knobs.items():
            if key not in LAYER_KNOBS:
                raise SpecError(
                    f"{where}.{key}", f"unknown knob; expected one of {', '.join(LAYER_KNOBS)}"
                )
            if key in RNG_TABLES and isinstance(value, Mapping):
                value = merge_rng(getattr(layer, key), value, f"{where}.{key}")
            changes[key] = value
        try:
            updated = replace(layer, **changes)
        except SpecError as error:
            raise _keyed(error).under(where) from None
        layers = list(self.layers)
        layers[index] = updated
        return replace(self, layers=tuple(layers))

    def with_knobs(self, **knobs: Any) -> NetworkSpec:
        """The same knobs on every layer (``input_rng`` only on layers that encode)."""
        spec = self
        for index in range(len(self.layers)):
            layer_knobs = dict(knobs)
            if not self.encodes(index):
                layer_knobs.pop("input_rng", None)
            spec = spec.with_layer_knobs(index, **layer_knobs)
        return spec

    def build(self) -> Network:
        """Quantise the float weights for these knobs (``stochflow.hdl.quantise``)."""
        config = self.config
        weights = []
        for index, (layer, floats) in enumerate(zip(config.layers, self.float_layers, strict=True)):
            try:
                weights.append(quantise_layer(floats, layer.precision, layer.threshold))
            except SpecError as error:
                raise error.under(f"layer[{index}]") from None
        try:
            return Network(config, tuple(weights))
        except SpecError as error:
            raise error.with_source(self.source) if self.source else error from None

    def load_dataset(self) -> Dataset:
        if self.dataset is None:
            raise SpecError("network.dataset", "this spec names no dataset", source=self.source)
        return load_dataset(self.dataset)


def merge_rng(current: RngSpec | None, update: Mapping[str, Any], field: str) -> RngSpec:
    """``current`` with the keys of ``update`` changed; the merge rule of the module docs."""
    _refuse_unknown(update, RNG_KEYS, field)
    base = _rng_table(current) if current is not None else {}
    merged = _merge_rng_tables(base, dict(update))
    return _rng_spec(merged, field, {})


# --- choices -----------------------------------------------------------------------------

CHOICE_RNG_KEYS = ("width", "polynomial", "seed", "structure", "dimension", "decorrelation", "allow")
CHOICE_KEYS = (
    "name",
    "index",
    "bitstream_length",
    "precision",
    "folding",
    "threshold",
    "leak",
    "membrane_bits",
    "membrane_init",
    "weight_memory",
    "rng",
    *CHOICE_RNG_KEYS,
    "weight_rng",
    "input_rng",
)
# What the optimiser reports beside the knobs (``stochflow optimise``): read past, except
# ``fold_cycles``, which must agree with the folding it came with.
CHOICE_INFO_KEYS = ("id", "fold_cycles", "error", "luts", "ffs", "power_mw", "latency_cycles")


def apply_choice(spec: NetworkSpec, choice: Any, *, source: str | None = None) -> NetworkSpec:
    """Apply a per-layer choice and validate the whole network once, at the end.

    ``choice`` is ``{"layers": [entry, …], …}`` (other top-level keys are metadata and
    ignored) or a bare list of entries. An entry names its layer by ``name`` or
    ``index`` (else its position) and sets knobs: ``bitstream_length``, ``precision``,
    ``folding``, ``threshold``, ``leak``, ``membrane_bits``, ``membrane_init``,
    ``weight_memory``; the weight source by flat keys ``rng`` (its kind), ``width``,
    ``polynomial``, ``seed``, ``structure``, ``dimension``, ``decorrelation``, ``allow``,
    or by a ``weight_rng`` table; the encoder by an ``input_rng`` table. Sources merge
    over the spec's as in :func:`merge_rng`; a ``null`` polynomial means the table's
    default. The optimiser's reported figures (:data:`CHOICE_INFO_KEYS`) are read past,
    except ``fold_cycles``, which is checked. Any other key is refused.
    """
    if isinstance(choice, Mapping):
        if "layers" not in choice:
            raise SpecError("choice.layers", "missing: expected a list of per-layer entries", source=source)
        entries = choice["layers"]
    else:
        entries = choice
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise SpecError("choice.layers", f"expected a list of per-layer entries, got {type(entries).__name__}", source=source)
    chosen: set[int] = set()
    for position, entry in enumerate(entries):
        where = f"choice.layers[{position}]"
        try:
            index, knobs = _choice_knobs(spec, entry, position, where)
            if index in chosen:
                raise SpecError(where, f"layer {spec.layers[index].name!r} is chosen twice")
            chosen.add(index)
            spec = spec.with_layer_knobs(index, **knobs)
            fold_cycles = entry.get("fold_cycles")
            if fold_cycles is not None and fold_cycles != spec.layers[index].fold_cycles:
                raise SpecError(
                    f"{where}.fold_cycles",
                    f"folding {spec.layers[index].folding} takes {spec.layers[index].fold_cycles} "
                    f"cycles per period, not {fold_cycles}",
                )
        except SpecError as error:
            raise _choice_error(error, index_prefix=f"layer[{position}]", where=where, source=source) from None
    try:
        spec.config  # noqa: B018 — validates the network as a whole
    except SpecError as error:
        raise SpecError(error.field, error.message, source=source or error.source) from None
    return spec


def _choice_knobs(spec: NetworkSpec, entry: Any, position: int, where: str) -> tuple[int, dict[str, Any]]:
    if not isinstance(entry, Mapping):
        raise SpecError(where, f"expected a table of knobs, got {type(entry).__name__}")
    _refuse_unknown(entry, (*CHOICE_KEYS, *CHOICE_INFO_KEYS), where)
    index = spec.layer_index(entry["name"]) if "name" in entry else None
    if "index" in entry:
        by_index = spec.layer_index(entry["index"])
        if index is not None and by_index != index:
            raise SpecError(f"{where}.index", f"layer {entry['name']!r} is index {index}, not {by_index}")
        index = by_index
    if index is None:
        index = spec.layer_index(position)
    knobs = {key: entry[key] for key in LAYER_KNOBS if key in entry and key not in RNG_TABLES}
    weight_update: dict[str, Any] = {}
    if "rng" in entry:
        if isinstance(entry["rng"], Mapping):
            weight_update.update(entry["rng"])
        else:
            weight_update["kind"] = entry["rng"]
    for key in CHOICE_RNG_KEYS:
        if key in entry and not (key == "polynomial" and entry[key] is None):
            weight_update[key] = entry[key]
    if "weight_rng" in entry:
        if weight_update:
            raise SpecError(f"{where}.weight_rng", "give the weight source either flat or as a table, not both")
        if not isinstance(entry["weight_rng"], Mapping):
            raise SpecError(f"{where}.weight_rng", "expected a table of source keys")
        weight_update = dict(entry["weight_rng"])
    if weight_update:
        knobs["weight_rng"] = weight_update
    if "input_rng" in entry:
        value = entry["input_rng"]
        if value is not None and not isinstance(value, Mapping):
            raise SpecError(f"{where}.input_rng", "expected a table of source keys or null")
        knobs["input_rng"] = value
    return index, knobs


def _choice_error(error: SpecError, *, index_prefix: str, where: str, source: str | None) -> SpecError:
    """Re-root a knob error at the choice entry, naming flat keys as the entry wrote them."""
    field = error.field
    if field == "layer":
        return SpecError(where, error.message, source=source)
    match = re.match(r"layer\[\d+\]\.?(.*)$", field)
    if match is not None:
        tail = match.group(1)
        field = f"{where}.{tail}" if tail else where
    return SpecError(field, error.message, source=source)


# --- loading -------------------------------------------------------------------------------


def load_spec(path: str | Path) -> NetworkSpec:
    """Read and validate a network spec; every error names this file and the field."""
    file = Path(path)
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("network", "no such spec file", source=source) from None
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError("network", f"cannot read the spec ({error})", source=source) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        position = _TOML_POSITION.search(message)
        if position is not None:
            where = f"{source}:{position.group(1)}:{position.group(2)}"
            message = message[: position.start()]
        else:
            where = source
        raise SpecError("toml", f"not valid TOML: {message}", source=where) from None
    try:
        return _spec_from_document(document, file)
    except SpecError as error:
        raise error if error.source else error.with_source(source) from None


def _spec_from_document(document: dict[str, Any], file: Path) -> NetworkSpec:
    _refuse_unknown(document, TOP_KEYS, "")
    network = _table(document, "network", "network", required=True)
    _refuse_unknown(network, NETWORK_KEYS, "network")
    name = network.get("name")
    if not isinstance(name, str):
        raise SpecError("network.name", f"expected a string identifier, got {name!r}")
    architecture = network.get("architecture", "stream")
    if architecture not in ARCHITECTURES:
        raise SpecError(
            "network.architecture", f"expected one of {', '.join(ARCHITECTURES)}, got {architecture!r}"
        )
    dataset = network.get("dataset")
    if dataset is not None:
        _check_dataset_name(dataset)
    defaults = _table(document, "defaults", "defaults", required=False)
    _refuse_unknown(defaults, LAYER_KNOBS, "defaults")
    for table_name in RNG_TABLES:
        if table_name in defaults:
            rng_table = _table(defaults, table_name, f"defaults.{table_name}", required=True)
            _refuse_unknown(rng_table, RNG_KEYS, f"defaults.{table_name}")
    tables = document.get("layer")
    if not isinstance(tables, list) or not tables:
        raise SpecError("layer", "expected one or more [[layer]] tables")
    layers = []
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            raise SpecError(f"layer[{index}]", "expected a [[layer]] table")
        layers.append(_layer_config(index, defaults, table, architecture))
    try:
        NetworkConfig(name, tuple(layers), architecture)
    except SpecError as error:
        raise _keyed(error) from None
    shapes = [(layer.n_out, layer.n_in) for layer in layers]
    return NetworkSpec(
        name=name,
        architecture=architecture,
        layers=tuple(layers),
        float_layers=_float_layers(network, shapes, file),
        dataset=dataset,
        source=str(file),
    )


def _check_dataset_name(name: Any) -> None:
    if name not in DATASETS:
        raise SpecError("network.dataset", f"expected one of {', '.join(DATASETS)}, got {name!r}")


def _float_layers(
    network: dict[str, Any], shapes: list[tuple[int, int]], file: Path
) -> tuple[FloatLayer, ...]:
    has_file, has_generator = "weights" in network, "generator" in network
    if has_file == has_generator:
        raise SpecError(
            "network.weights",
            'give exactly one of weights = "<file>.npz" or a [network.generator] table',
        )
    if has_file:
        weights = network["weights"]
        if not isinstance(weights, str) or not weights:
            raise SpecError("network.weights", f"expected a file name, got {weights!r}")
        return load_float_weights(file.parent / weights, shapes, source=str(file))
    generator = _table(network, "generator", "network.generator", required=True)
    _refuse_unknown(generator, GENERATOR_KEYS, "network.generator")
    kind = generator.get("kind", "he-normal")
    if kind not in GENERATOR_KINDS:
        raise SpecError("network.generator.kind", f"expected one of {', '.join(GENERATOR_KINDS)}, got {kind!r}")
    seed = generator.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SpecError("network.generator.seed", f"expected an integer ≥ 0, got {seed!r}")
    bias_std = generator.get("bias_std", 0.1)
    if isinstance(bias_std, bool) or not isinstance(bias_std, int | float) or not 0 <= bias_std < 1e6:
        raise SpecError("network.generator.bias_std", f"expected a number ≥ 0, got {bias_std!r}")
    samples = generator.get("calibration_samples", 512)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SpecError("network.generator.calibration_samples", f"expected an integer ≥ 1, got {samples!r}")
    return generated_float_layers(shapes, seed, bias_std=float(bias_std), calibration_samples=samples)


def _layer_config(
    index: int, defaults: dict[str, Any], table: dict[str, Any], architecture: str
) -> LayerConfig:
    where = f"layer[{index}]"
    _refuse_unknown(table, LAYER_KEYS, where)
    origin: dict[str, str] = {}
    values: dict[str, Any] = {}
    for scope, source_table in (("defaults", defaults), (where, table)):
        for key, value in source_table.items():
            if key not in RNG_TABLES:
                values[key] = value
                origin[key] = f"{scope}.{key}"
    for key in ("name", "inputs", "outputs"):
        if key not in table:
            raise SpecError(f"{where}.{key}", "required")
    encodes = index == 0 or architecture == "regenerate"
    sources: dict[str, RngSpec | None] = {}
    for table_name in RNG_TABLES:
        merged: dict[str, Any] = {}
        rng_origin: dict[str, str] = {}
        scopes = []
        if table_name in defaults and (table_name == "weight_rng" or encodes):
            scopes.append(("defaults", defaults[table_name]))
        if table_name in table:
            scopes.append((where, _table(table, table_name, f"{where}.{table_name}", required=True)))
            _refuse_unknown(table[table_name], RNG_KEYS, f"{where}.{table_name}")
        for scope, rng_table in scopes:
            merged = _merge_rng_tables(merged, dict(rng_table))
            rng_origin = {k: v for k, v in rng_origin.items() if k in merged}
            rng_origin.update({key: f"{scope}.{table_name}.{key}" for key in rng_table})
        if scopes:
            sources[table_name] = _rng_spec(merged, f"{where}.{table_name}", rng_origin)
        elif table_name == "weight_rng":
            sources[table_name] = RngSpec()
        else:
            sources[table_name] = None
    kwargs = {
        "name": values.pop("name"),
        "n_in": values.pop("inputs"),
        "n_out": values.pop("outputs"),
        **values,
        **sources,
    }
    try:
        layer = LayerConfig(**kwargs)
    except SpecError as error:
        keyed = _keyed(error)
        head = keyed.field.split(".")[0]
        if keyed.field in origin:
            raise SpecError(origin[keyed.field], keyed.message) from None
        if head in RNG_TABLES:
            raise keyed.under(where) from None
        raise SpecError(origin.get(head, f"{where}.{keyed.field}"), keyed.message) from None
    for table_name, streams in (("weight_rng", layer.columns), ("input_rng", layer.n_in)):
        rng = getattr(layer, table_name)
        if rng is not None:
            check_streams(rng, streams, f"{where}.{table_name}")
    return layer


# --- helpers -----------------------------------------------------------------------------------


def _table(parent: Mapping[str, Any], key: str, field: str, *, required: bool) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        if required:
            raise SpecError(field, "missing table")
        return {}
    if not isinstance(value, dict):
        raise SpecError(field, f"expected a table, got {type(value).__name__}")
    return value


def _refuse_unknown(table: Mapping[str, Any], allowed: Sequence[str], field: str) -> None:
    for key in table:
        if key not in allowed:
            path = f"{field}.{key}" if field else str(key)
            raise SpecError(path, f"unknown key; expected one of {', '.join(allowed)}")


def _rng_table(spec: RngSpec) -> dict[str, Any]:
    table = spec.to_dict()
    table["allow"] = list(spec.allow)
    return table


def _merge_rng_tables(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Key-by-key merge; another ``kind`` starts afresh, another ``width`` drops the polynomial."""
    if "kind" in update and update["kind"] != base.get("kind", "lfsr"):
        base = {}
    elif "width" in update and update["width"] != base.get("width") and "polynomial" not in update:
        base = {key: value for key, value in base.items() if key != "polynomial"}
    return {**base, **update}


def _rng_spec(table: dict[str, Any], field: str, origin: dict[str, str]) -> RngSpec:
    kwargs = dict(table)
    if "allow" in kwargs:
        allow = kwargs["allow"]
        if not isinstance(allow, list | tuple) or not all(isinstance(item, str) for item in allow):
            raise SpecError(origin.get("allow", f"{field}.allow"), f"expected a list of strings, got {allow!r}")
        kwargs["allow"] = tuple(allow)
    try:
        return RngSpec(**kwargs)
    except SpecError as error:
        raise SpecError(origin.get(error.field, f"{field}.{error.field}"), error.message) from None


def _keyed(error: SpecError) -> SpecError:
    """``LayerConfig`` field names (``n_in``) → the spec's keys (``inputs``) in a field path."""
    parts = [_FIELD_TO_KEY.get(part, part) for part in error.field.split(".")]
    return SpecError(".".join(parts), error.message, source=error.source)
