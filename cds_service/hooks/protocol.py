"""The CDS Hooks wire protocol: our JSON Schemas, the card invariants and OperationOutcome errors.

No official CDS Hooks JSON Schema exists, so `cds_service/hooks/schemas/*.json` are ours, written from the 2.0
tables. The schemas check shapes; the invariants below check what a schema cannot say (uuids on every
card and suggestion, action rules, no null or empty value anywhere). Other modules' tests can call
`validate_response(obj)` or load `schema_path("response.json")` directly.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import jsonschema_rs
import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SUMMARY_MAX = 139  # the spec says "<140 characters"


class ProtocolError(Exception):
    """A request we refuse: becomes an HTTP status with an OperationOutcome body.

    `diagnostics` is sent to the caller, so it never holds tokens or patient identifiers."""

    def __init__(self, status: int, code: str, diagnostics: str, expression: Iterable[str] = ()):
        super().__init__(diagnostics)
        self.status = status
        self.code = code  # FHIR issue-type code: invalid, not-found, not-supported, too-long, processing, ...
        self.diagnostics = diagnostics
        self.expression = tuple(expression)

    def outcome(self) -> dict:
        return operation_outcome(self.code, self.diagnostics, self.expression)


def operation_outcome(code: str, diagnostics: str | None = None, expression: Iterable[str] = ()) -> dict:
    issue: dict[str, Any] = {"severity": "error", "code": code}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    if expression := list(expression):
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / name


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources_ = []
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        contents = orjson.loads(path.read_bytes())
        resources_.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources_)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    schema = orjson.loads(schema_path(name).read_bytes())
    return Draft202012Validator(schema, registry=_registry())


@lru_cache(maxsize=None)
def quick_validator(name: str) -> jsonschema_rs.Validator:
    """Schema `name` compiled by jsonschema-rs: it says yes or no ~200x faster than `validator(name)` (0.7 us
    for a card, 170 us in Python), so what passes it costs nothing more. It is never more lenient: its
    patterns read "\\s" as Python's `re` does (see `_as_python_reads`), and where its regexes are stricter
    (ASCII "\\d", "$" at the very end) `validator(name)` re-reads a refusal and has the last word."""
    schema = orjson.loads(schema_path(name).read_bytes())
    return jsonschema_rs.validator_for(_with_python_patterns(schema))


# What Python's `re` matches with "\\s" in a str pattern (str.isspace; none past U+3000). jsonschema-rs reads
# "\\s" as ECMA-262 does: without U+001C-U+001F and U+0085 (it would accept a URL holding one), with U+FEFF.
PYTHON_SPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())


def _with_python_patterns(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {key: _as_python_reads(value) if key == "pattern" and isinstance(value, str)
                else _with_python_patterns(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_with_python_patterns(item) for item in schema]
    return schema


def _as_python_reads(pattern: str) -> str:
    """`pattern` with its "\\s" and "\\S" spelled out as the characters Python's `re` means by them."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        char, escaped = pattern[i], pattern[i + 1: i + 2]
        if char == "\\" and escaped in ("s", "S"):
            if escaped == "S" and in_class:
                raise ValueError(f"schema pattern {pattern!r}: write [^...\\s] instead of \\S inside a class")
            out.append(PYTHON_SPACE if in_class else f"[{'^' * (escaped == 'S')}{PYTHON_SPACE}]")
        else:
            out.append(pattern[i: i + 2] if char == "\\" else char)
            in_class = (in_class or char == "[") and char != "]"
        i += 2 if char == "\\" else 1
    return "".join(out)


def schema_problems(name: str, instance: Any, at: str = "") -> list[str]:
    """Every way `instance` breaks schema `name`, as short "path: rule" strings that never quote the
    offending value: they go into 400 answers and our log, and a value may be a token or a patient id.
    `at` names where `instance` sits in the request ("context"), so the paths read from the request's root."""
    if quick_validator(name).is_valid(instance):
        return []
    problems = []
    for error in sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path)):
        where = "/".join([at] * bool(at) + [str(p) for p in error.absolute_path]) or "(root)"
        problems.append(f"{where}: {_short(_rule_broken(error))}")
    return problems


@lru_cache(maxsize=None)  # hooks come from hooks.json, never from a request: a few entries, no stat per call
def context_schema(hook: str) -> str | None:
    """The file name of `hook`'s context schema, None for a hook we have no schema for (and so do not serve)."""
    name = f"context-{hook}.json"
    return name if schema_path(name).is_file() else None


def context_tokens(hook: str) -> tuple[str, ...]:
    """The context fields usable as prefetch tokens: CDS Hooks 2.0 allows the context's root-level primitive
    fields (the hook library marks them "Prefetch Token"), which our context schemas declare as strings."""
    properties = orjson.loads(schema_path(context_schema(hook)).read_bytes()).get("properties", {})
    return tuple(name for name, rule in properties.items() if rule.get("type") == "string")


# jsonschema's own messages quote the instance ("'<token>' is not of type 'object'"); these say the rule only.
RULE_TEXT = {
    "type": "is not of type {}", "enum": "is not one of {}", "const": "is not {}", "pattern": "does not match {}",
    "maxLength": "is too long (more than {} characters)", "minLength": "is too short (fewer than {} characters)",
    "minItems": "has fewer than {} items", "minProperties": "has fewer than {} properties",
    "minimum": "is less than {}", "maxItems": "has more than {} items",
    "anyOf": "matches none of the allowed shapes", "oneOf": "matches none of the allowed shapes",
    "not": "has a combination of fields that is not allowed",
}


def _rule_broken(error) -> str:
    if error.validator in ("required", "dependentRequired"):
        return error.message  # names properties, never values
    template = RULE_TEXT.get(error.validator, "breaks the schema rule " + str(error.validator))
    return template.format(orjson.dumps(error.validator_value).decode())


def _short(message: str, limit: int = 160) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


# --- requests -------------------------------------------------------------------------------------


def check_request(body: Any, hook: str, production: bool) -> None:
    """Raise ProtocolError(400) unless `body` is a well-formed call of `hook` (the service's hook)."""
    if not isinstance(body, dict):
        raise ProtocolError(400, "invalid", "The request body must be a JSON object.")
    if isinstance(body.get("hook"), str) and body["hook"] != hook:
        raise ProtocolError(400, "invalid", f"This service answers the {hook} hook, not {body['hook'][:40]}.", ["hook"])
    problems = schema_problems("request.json", body)
    if isinstance(body.get("context"), dict):
        problems += schema_problems(context_schema(hook), body["context"], at="context")
    if problems:
        problems.sort()
        raise ProtocolError(400, "invalid", "Invalid CDS Hooks request: " + "; ".join(problems[:5]))
    if production and body.get("fhirServer", "https://").split(":", 1)[0].lower() != "https":
        raise ProtocolError(400, "security", "fhirServer must use https in production.", ["fhirServer"])
    if hook == "order-select":
        _check_selections(body["context"])


def _check_selections(context: dict) -> None:
    """Each selection must point into draftOrders (as `Type/id`; an absolute URL ending so is tolerated)."""
    known = set()
    for entry in context["draftOrders"].get("entry") or []:
        resource = entry.get("resource") or {}
        if resource.get("id"):
            known.add(f"{resource['resourceType']}/{resource['id']}")
        if isinstance(entry.get("fullUrl"), str):  # the schema leaves fullUrl free: a list must not raise
            known.add(entry["fullUrl"])
    for selection in context["selections"]:
        # An absolute URL selects the order whose "Type/id" its last two segments name (one lookup each,
        # so a call's cost stays linear in its orders).
        if selection not in known and "/".join(selection.rsplit("/", 2)[-2:]) not in known:
            raise ProtocolError(
                400, "invalid", "A selection does not point to an order in draftOrders.", ["context.selections"]
            )


def check_feedback(body: Any) -> None:
    if not isinstance(body, dict):
        raise ProtocolError(400, "invalid", "The request body must be a JSON object.")
    if problems := schema_problems("feedback.json", body):
        raise ProtocolError(400, "invalid", "Invalid feedback: " + "; ".join(problems[:5]))


# --- responses ------------------------------------------------------------------------------------

ALLOWED_EMPTY = {"cards"}  # the only place the spec allows an empty value: `{"cards": []}`


def without_empty(mapping: dict[str, Any]) -> dict[str, Any]:
    """`mapping` without the keys CDS Hooks forbids a value for: null, "", [] and {}."""
    return {k: v for k, v in mapping.items() if v is not None and v != "" and v != [] and v != {}}


def empty_values(value: Any, path: str = "") -> list[str]:
    """Paths of null or empty ("" [] {}) values anywhere below `value` (extensions included)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}/{key}"
            if item is None or item == "" or item == [] or item == {}:
                if here.lstrip("/") not in ALLOWED_EMPTY:
                    found.append(here)
            else:
                found.extend(empty_values(item, here))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if item is None or item == "" or item == [] or item == {}:
                found.append(f"{path}/{index}")
            else:
                found.extend(empty_values(item, f"{path}/{index}"))
    return found


def as_sent(value: Any) -> Any:
    """`value` as the client will read it: orjson writes NaN and Infinity as null (caught as empty values
    afterwards). Raises TypeError for what JSON cannot carry (integers beyond 64 bits, non-string keys)."""
    return orjson.loads(orjson.dumps(value))


# An empty value anywhere in a JSON text writes one of these; most cards' texts hold none, and need no walk.
EMPTY_IN_TEXT = (b"null", b'""', b"[]", b"{}")


def card_problems(card: Any) -> list[str]:
    """Why `card` must not be sent (serialisation, schema, invariants); empty list when it is fine."""
    try:
        text = orjson.dumps(card)
    except TypeError as error:
        return [f"card cannot be sent as JSON ({error})"]
    card = orjson.loads(text)  # as_sent
    problems = schema_problems("response.json", {"cards": [card]})
    if not isinstance(card, dict):
        return problems or ["card is not an object"]
    if problems:  # the invariants assume the schema's shapes
        return problems
    empty = empty_values(card) if any(token in text for token in EMPTY_IN_TEXT) else []
    return [f"empty value at {p}" for p in empty] + _card_invariants(card)


def _card_invariants(card: dict) -> list[str]:
    """What the schema cannot say about one card."""
    problems = []
    if not card.get("uuid"):
        problems.append("card without uuid (feedback could not name it)")
    suggestions = card.get("suggestions") or []
    if suggestions and not card.get("selectionBehavior"):
        problems.append("suggestions without selectionBehavior")
    if card.get("selectionBehavior") and not suggestions:
        problems.append("selectionBehavior without suggestions")
    recommended = [s for s in suggestions if isinstance(s, dict) and s.get("isRecommended")]
    if card.get("selectionBehavior") == "at-most-one" and len(recommended) > 1:
        problems.append("more than one recommended suggestion with at-most-one")
    for index, suggestion in enumerate(suggestions):
        if isinstance(suggestion, dict):
            if not suggestion.get("uuid"):
                problems.append(f"suggestion {index} without uuid")
            for action in suggestion.get("actions") or []:
                problems += action_problems(action)
    for link in card.get("links") or []:
        if isinstance(link, dict) and "appContext" in link and link.get("type") != "smart":
            problems.append("appContext on a link that is not smart")
    return problems


def action_problems(action: Any) -> list[str]:
    if not isinstance(action, dict):
        return ["action is not an object"]
    kind = action.get("type")
    if kind in ("create", "update") and not isinstance(action.get("resource"), dict):
        return [f"{kind} action without resource"]
    if kind == "delete" and ("resource" in action or not action.get("resourceId")):
        return ["delete action must name resourceId and carry no resource"]
    return []


def validate_response(obj: Any) -> list[str]:
    """Every problem with a whole response (`{"cards": [...], "systemActions"?: [...]}`); [] when valid."""
    try:
        obj = as_sent(obj)
    except TypeError as error:
        return [f"response cannot be sent as JSON ({error})"]
    problems = schema_problems("response.json", obj)
    if not isinstance(obj, dict):
        return problems
    problems += [f"empty value at {p}" for p in empty_values(obj)]
    cards = obj.get("cards") if isinstance(obj.get("cards"), list) else []
    for index, card in enumerate(cards):
        if isinstance(card, dict):
            problems += [f"card {index}: {p}" for p in _card_invariants(card)]
    uuids = [c.get("uuid") for c in cards if isinstance(c, dict) and c.get("uuid")]
    if len(uuids) != len(set(uuids)):
        problems.append("card uuids are not unique")
    for action in obj.get("systemActions") or []:
        problems += action_problems(action)
    return problems


def keep_valid_cards(cards: Iterable[Any]) -> tuple[list[dict], list[tuple[int, list[str]]]]:
    """Split handler output into the cards we may send and (index, problems) of those we drop."""
    kept, dropped, seen = [], [], set()
    for index, card in enumerate(cards):
        problems = card_problems(card)
        if not problems and card["uuid"] in seen:
            problems = ["duplicate card uuid"]
        if problems:
            dropped.append((index, problems))
        else:
            seen.add(card["uuid"])
            kept.append(card)
    return kept, dropped
