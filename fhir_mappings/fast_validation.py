"""A fast pre-check of the read part of a resource: "clean" only when fhir.resources would accept it as sent.

fhir.resources (R4B) validates with pydantic, but through Python-level code at every element (a custom __init__,
before/after model validators, wrap validators for every complex type, decimal and date); that is most of its cost.
Here the same models are translated, once per process, into pydantic-core schemas that run without Python
callbacks except for two rules (one value[x] per choice; base64 that decodes). The translation is deliberately stricter than fhir.resources:

- exact JSON types only (strict mode): a string where a number belongs, a number where a string belongs, a single
  object where an array belongs, a null anywhere, an empty array, is "doubtful";
- unknown elements, elements addressed by their Python name (`status__ext`), `fhir_comments`, a `resourceType` inside
  a datatype, contained resources of a type not translated, leap seconds, UUID elements: "doubtful";
- a required element must be present with a value (fhir.resources also accepts an extension in its place).

A "doubtful" resource goes to fhir.resources, which stays the authority for errors, repairs and the Problem wording;
so this check can only ever change a decision by accepting something fhir.resources rejects, and
tests/mappings/test_fast_validation.py checks that it does not. Primitive patterns are copied from fhir_core's own
metadata (same regex engine, same pattern); a model or primitive this module does not recognise (a new fhir_core
validator, a changed pattern) is translated to "always doubtful", never guessed.
"""

from __future__ import annotations

import base64
import threading
import typing
import types as _pytypes
from functools import lru_cache

from fhir_core import types as fhir_types
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase
from pydantic import TypeAdapter
from pydantic_core import PydanticCustomError, SchemaValidator, core_schema as cs

# Contained resources are validated whole by fhir.resources; these are the types a contained resource is translated
# for (a medication order names its drug in a contained Medication). Any other contained type is doubtful.
CONTAINED_TYPES = ("Medication",)

# The validators fhir.resources runs on every model, and what this module does in their place.
_KNOWN_MODEL_VALIDATORS = {
    "reject_null_complex_elements",  # nulls are never accepted here
    "validate_after_model_construction",  # required primitives and value[x] choices: see _model_schema
    "validate_extension_or_fhir_comment_required",  # FHIRPrimitiveExtension: see _id_or_extension
}
_KNOWN_CONFIG = {"extra": "forbid", "populate_by_name": True, "validate_assignment": True}

# fhir_core's date and time patterns, as this module was written against (checked at build time). Leap seconds
# (":60") are left out on purpose: fhir_core treats them in Python, so they are doubtful here.
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_MONTH = r"(0[1-9]|1[0-2])"
_DAY = r"(0[1-9]|[1-2][0-9]|3[0-1])"
_TZ = r"(Z|([+\-])((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]:"
_EXPECTED_PATTERNS = {
    fhir_types.Date: _YEAR + r"(-" + _MONTH + r"(-" + _DAY + r")?)?",
    fhir_types.DateTime: _YEAR + r"(-" + _MONTH + r"(-" + _DAY + r"(T" + _CLOCK + r"([0-5][0-9]|60)(\.[0-9]+)?"
    + _TZ + r")?)?)?",
    fhir_types.Instant: _YEAR + r"-" + _MONTH + r"-" + _DAY + r"T" + _CLOCK + r"([0-5][0-9]|60)(\.[0-9]+)?" + _TZ,
    fhir_types.Time: _CLOCK + r"([0-5][0-9]|60)(\.[0-9]+)?",
    fhir_types.Decimal: r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$",
}
_PARTIAL_DATE = "^" + _YEAR + "(-" + _MONTH + ")?$"  # kept as text by fhir_core, never parsed
_FULL_DATE = _YEAR + "-" + _MONTH + "-" + _DAY
_SECONDS = r"[0-5][0-9](\.[0-9]+)?"


class Untranslatable(Exception):
    """fhir.resources does something here this module does not model: treat the element as always doubtful."""


def _doubt(_value: typing.Any) -> typing.Any:
    raise PydanticCustomError("fast_check_doubt", "not modelled by the fast check")


_ALWAYS_DOUBTFUL = cs.no_info_plain_validator_function(_doubt)


def _strict_text(pattern: str) -> cs.CoreSchema:
    return cs.str_schema(pattern=pattern, strict=True)


def _parsed_after(pattern: str, parser: cs.CoreSchema) -> cs.CoreSchema:
    """The same pydantic parser fhir_core hands a full date or time to, on text that matched its pattern."""
    return cs.chain_schema([_strict_text(pattern), parser])


def _base64_check(value: str) -> str:
    base64.b64decode(value.encode("utf-8"))  # what pydantic's Base64Bytes does with the same text (ValueError: doubt)
    return value


# The primitives whose fhir_core schema is plain pydantic (a pattern, lengths, bounds): taken as pydantic builds it.
_PLAIN = (fhir_types.String, fhir_types.Code, fhir_types.Id, fhir_types.Uri, fhir_types.Canonical, fhir_types.Markdown,
          fhir_types.Oid, fhir_types.Xhtml, fhir_types.Integer, fhir_types.UnsignedInt, fhir_types.PositiveInt)


@lru_cache(maxsize=None)
def _primitive(meta_class: type, annotation: typing.Any) -> cs.CoreSchema:
    """The schema of one FHIR primitive element, from its annotation and the fhir_core metadata class in it."""
    expected = _EXPECTED_PATTERNS.get(meta_class)
    if expected is not None and meta_class.pattern.pattern != expected:
        raise Untranslatable(f"{meta_class.__name__} pattern changed")
    if meta_class is fhir_types.Decimal:
        # fhir_core matches str(value) against its decimal pattern: the str() of a finite float or of a bounded int
        # always matches (and the bound keeps str() of a huge int from failing).
        return cs.union_schema([
            cs.int_schema(strict=True, ge=-(10 ** 18), le=10 ** 18),
            cs.chain_schema([cs.is_instance_schema(float), cs.float_schema(strict=True, allow_inf_nan=False)]),
        ])
    if meta_class is fhir_types.Date:
        return cs.union_schema([_strict_text(_PARTIAL_DATE),
                                _parsed_after("^" + _FULL_DATE + "$", cs.date_schema(strict=False))])
    if meta_class is fhir_types.DateTime:
        full = "^" + _FULL_DATE + "(T" + _CLOCK + _SECONDS + _TZ + ")?$"
        return cs.union_schema([_strict_text(_PARTIAL_DATE), _parsed_after(full, cs.datetime_schema(strict=False))])
    if meta_class is fhir_types.Instant:
        full = "^" + _FULL_DATE + "T" + _CLOCK + _SECONDS + _TZ + "$"
        return _parsed_after(full, cs.datetime_schema(strict=False))
    if meta_class is fhir_types.Time:
        return _parsed_after("^" + _CLOCK + _SECONDS + "$", cs.time_schema(strict=False))
    if meta_class is fhir_types.Url:
        return cs.str_schema(strict=True)  # fhir_core's Url accepts any text (its inner schema is plain str)
    if meta_class is fhir_types.Base64Binary:
        return cs.no_info_after_validator_function(_base64_check, cs.str_schema(strict=True))
    if meta_class not in _PLAIN:
        raise Untranslatable(meta_class.__name__)
    # pydantic's own schema for this very annotation (pattern, lengths, bounds, same regex engine), made strict.
    schema = dict(TypeAdapter(annotation).core_schema)
    if schema.get("type") not in ("str", "int") or set(schema) - {"type", "pattern", "min_length", "max_length",
                                                                  "le", "ge"}:
        raise Untranslatable(meta_class.__name__)
    schema["strict"] = True
    return typing.cast(cs.CoreSchema, schema)


def _optional_arg(annotation: typing.Any) -> tuple[typing.Any, bool]:
    """(the type inside Optional[...], whether it was optional)."""
    if typing.get_origin(annotation) in (typing.Union, _pytypes.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        raise Untranslatable(f"union {annotation}")
    return annotation, False


class _Builder:
    """Translates fhir.resources model classes into pydantic-core definitions, once per class."""

    def __init__(self) -> None:
        self.definitions: dict[str, cs.CoreSchema] = {}

    def model(self, model: type[FHIRAbstractModel]) -> cs.CoreSchema:
        ref = f"{model.__module__}.{model.__qualname__}"
        if ref not in self.definitions:
            self.definitions[ref] = {**_ALWAYS_DOUBTFUL, "ref": ref}  # placeholder while building (models recur)
            try:
                schema = self._model_schema(model)
            except Untranslatable:
                schema = _ALWAYS_DOUBTFUL
            self.definitions[ref] = {**schema, "ref": ref}  # type: ignore[typeddict-item]
        return cs.definition_reference_schema(ref)

    def _model_schema(self, model: type[FHIRAbstractModel]) -> cs.CoreSchema:
        decorators = model.__pydantic_decorators__
        if (decorators.validators or decorators.field_validators or decorators.root_validators
                or set(decorators.model_validators) - _KNOWN_MODEL_VALIDATORS
                or dict(model.model_config) != _KNOWN_CONFIG
                or model.__init__ is not FHIRAbstractModel.__init__):
            raise Untranslatable(model.__name__)
        required_primitives = {name for name, _ext in model.get_required_fields(None)}  # type: ignore[arg-type]
        fields: dict[str, cs.TypedDictField] = {}
        for name, info in model.model_fields.items():
            if name == "fhir_comments":
                continue  # doubtful when sent (left out, so forbidden)
            key = info.alias or name
            try:
                if info.metadata or info.discriminator or info.validation_alias not in (None, info.alias):
                    raise Untranslatable(f"{model.__name__}.{name} has field-level constraints")
                schema, optional = self._field(info.annotation)
            except Untranslatable:
                continue  # this element is doubtful when sent
            required = info.is_required() or key in required_primitives or not optional
            fields[key] = cs.typed_dict_field(schema, required=required)
        if model.has_resource_base():
            fields["resourceType"] = cs.typed_dict_field(cs.literal_schema([model.get_resource_type()]),
                                                         required=False)
        schema: cs.CoreSchema = cs.typed_dict_schema(fields, extra_behavior="forbid", strict=True)
        if "validate_extension_or_fhir_comment_required" in decorators.model_validators:
            schema = cs.no_info_after_validator_function(_id_or_extension, schema)
        groups = model.get_one_of_many_fields(None)  # type: ignore[arg-type]
        if groups:
            choices = []
            for members in groups.values():
                extra = model.model_fields[members[0]].json_schema_extra or {}
                keys = tuple(model.model_fields[m].alias or m for m in members)
                choices.append((keys, extra.get("one_of_many_required") is True))
            schema = cs.no_info_after_validator_function(_one_of(tuple(choices)), schema)
        return schema

    def _field(self, annotation: typing.Any) -> tuple[cs.CoreSchema, bool]:
        inner, optional = _optional_arg(annotation)
        if typing.get_origin(inner) is list:
            (item,) = typing.get_args(inner)
            item, _nullable = _optional_arg(item)  # a null item is never accepted here
            return cs.list_schema(self._single(item), min_length=1, strict=True), optional
        return self._single(inner), optional

    def _single(self, annotation: typing.Any) -> cs.CoreSchema:
        if annotation is bool:
            return cs.bool_schema(strict=True)
        if typing.get_origin(annotation) is typing.Annotated:
            _base, *meta = typing.get_args(annotation)
            kinds = [type(m) for m in meta if type(m) in fhir_types.FHIR_PRIMITIVES_MAPS or
                     isinstance(m, fhir_types.Base64Binary)]
            if len(kinds) != 1:
                raise Untranslatable(str(annotation))
            return _primitive(kinds[0], annotation)
        if isinstance(annotation, type) and issubclass(annotation, FhirElementOrResourceBase):
            return self._contained(annotation)
        if isinstance(annotation, type) and issubclass(annotation, FhirBase):
            return self.model(annotation.get_model_klass())
        raise Untranslatable(str(annotation))

    def _contained(self, annotation: type[FhirElementOrResourceBase]) -> cs.CoreSchema:
        choices = {}
        for rtype in CONTAINED_TYPES:  # the class fhir_core picks for the resourceType, the way it picks it
            klass = fhir_types.import_string(fhir_types.FHIR_TYPES_MAPS[annotation._prefix + rtype + "Type"])
            choices[rtype] = self.model(klass)
        return cs.tagged_union_schema(choices, discriminator="resourceType", strict=True)


def _id_or_extension(value: dict) -> dict:
    if "id" not in value and "extension" not in value:
        raise PydanticCustomError("fast_check_doubt", "an empty primitive extension")
    return value


def _one_of(choices: tuple[tuple[tuple[str, ...], bool], ...]):
    """fhir_core's value[x] rule: at most one of each choice group, and one when the group is required."""
    def check(value: dict) -> dict:
        for keys, required in choices:
            found = sum(1 for k in keys if k in value)
            if found > 1 or (required and not found):
                raise PydanticCustomError("fast_check_doubt", "value[x] choice")
        return value
    return check


_build_lock = threading.Lock()
_builder = _Builder()  # shared, so the datatypes (Extension and all it holds) are translated once per process


@lru_cache(maxsize=None)
def _validator(model: type[FHIRAbstractModel]) -> SchemaValidator | None:
    with _build_lock:
        try:
            root = _builder.model(model)
            return SchemaValidator(cs.definitions_schema(root, list(_builder.definitions.values())))
        except Exception:  # noqa: BLE001 -- a model this module cannot translate is always doubtful
            return None


def is_clean(model: type[FHIRAbstractModel], resource: dict) -> bool:
    """True only when `model.model_validate(resource)` would succeed with the resource as sent."""
    validator = _validator(model)
    if validator is None:
        return False
    try:
        validator.validate_python(resource)
    except Exception:  # noqa: BLE001 -- a ValidationError, or anything else: doubtful either way
        return False
    return True
