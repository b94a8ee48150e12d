"""The service registry: `hooks.json` read once, checked, and joined with the handler of each service.

`hooks.json` is the discovery document; nothing in the code restates its ids, hooks or templates.
At load time every prefetch template is linted against CDS Hooks 2.0 (tokens and query subset), so a
template the EHR could not honour fails the start-up, not a call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import parse_qsl

import orjson

from cds_service.hooks import protocol
from cds_service.hooks.call import HookCall

Handler = Callable[[HookCall], list]
REQUIRED_PREFETCH = "org.kmt2a-cds.required-prefetch"
DISCOVERY_FIELDS = ("hook", "title", "description", "id", "prefetch", "usageRequirements", "version", "hookVersion")
TOKEN = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
USER_TOKENS = ("userPractitionerId", "userPractitionerRoleId", "userPatientId", "userRelatedPersonId")
# 2.0 query subset: forbidden in our templates (includes, chaining, text search, other prefixes).
FORBIDDEN_PARAMS = re.compile(r"^_(include|revinclude|has|elements|summary|contained)|[.:](text|contains|exact|missing)")


class RegistryError(ValueError):
    """hooks.json does not describe a service we can run."""


@dataclass(frozen=True)
class Service:
    id: str
    hook: str
    prefetch: Mapping[str, str]
    required_prefetch: tuple[str, ...]
    discovery: Mapping  # the entry as GET /cds-services shows it
    handler: Handler


class Registry:
    def __init__(self, services: list[Service]):
        self.services = {service.id: service for service in services}

    def get(self, service_id: str) -> Service | None:
        return self.services.get(service_id)

    def discovery(self) -> dict:
        return {"services": [dict(service.discovery) for service in self.services.values()]}


def load(path: Path, handlers: Mapping[str, Handler]) -> Registry:
    """Read `path` (hooks.json) and attach `handlers[service id]` to each service."""
    document = orjson.loads(Path(path).read_bytes())
    services = [_service(entry, handlers) for entry in document.get("services", [])]
    registry = Registry(services)
    if problems := protocol.schema_problems("discovery.json", registry.discovery()):
        raise RegistryError(f"{path}: " + "; ".join(problems))
    return registry


def _service(entry: dict, handlers: Mapping[str, Handler]) -> Service:
    service_id, hook = entry.get("id"), entry.get("hook")
    if not isinstance(hook, str) or protocol.context_schema(hook) is None:
        raise RegistryError(f"service {service_id}: hook {hook!r} has no context schema (hooks/schemas/)")
    if service_id not in handlers:
        raise RegistryError(f"service {service_id}: no handler registered")
    prefetch = entry.get("prefetch") or {}
    for key, template in prefetch.items():
        if problems := template_problems(template, hook):
            raise RegistryError(f"service {service_id}, prefetch {key}: " + "; ".join(problems))
    required = tuple((entry.get("extension") or {}).get(REQUIRED_PREFETCH, ()))
    if missing := [key for key in required if key not in prefetch]:
        raise RegistryError(f"service {service_id}: required prefetch keys without template: {missing}")
    discovery = {name: entry[name] for name in DISCOVERY_FIELDS if entry.get(name)}
    if entry.get("extension"):
        discovery["extension"] = entry["extension"]
    return Service(service_id, hook, dict(prefetch), required, discovery, handlers[service_id])


def template_problems(template: str, hook: str) -> list[str]:
    """Why a prefetch template is outside CDS Hooks 2.0 (tokens, query subset); [] when fine."""
    problems = []
    if template.count("{{") != template.count("}}"):
        problems.append("unbalanced {{ }}")
    for token in TOKEN.findall(template):
        field = token.removeprefix("context.")
        if token.startswith("context.") and field in protocol.context_tokens(hook):
            continue
        if token not in USER_TOKENS:
            problems.append(f"token {{{{{token}}}}} is not a 2.0 prefetch token")
    path, _, query = template.partition("?")
    user_read = path.replace(" ", "") == "{{context.userId}}"  # userId is "Type/id": a read by itself
    if not user_read and not re.fullmatch(r"[A-Z][A-Za-z]+(/[^/?]+)?", TOKEN.sub("x", path)):
        problems.append("not a relative read or type-level search")
    for name, _value in parse_qsl(query, keep_blank_values=True):
        if FORBIDDEN_PARAMS.search(name) or ("." in name and not name.startswith("_")):
            problems.append(f"query parameter {name} is outside the 2.0 prefetch subset")
    return problems
