"""Parameter values: ``${var}`` (a sweep variable) and ``@step[.field]`` (an earlier step's
output) — checked when a config is validated, resolved at each point."""
from __future__ import annotations

import re
from typing import Any

from .source import KeyPath, Source, did_you_mean

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REFERENCE = re.compile(r"^@([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$")


def check_values(src: Source, value: Any, variables: set[str], earlier: set[str], path: KeyPath) -> None:
    """Every ``${var}`` is a sweep variable and every ``@step`` an earlier step."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_values(src, v, variables, earlier, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_values(src, v, variables, earlier, path + (i,))
    elif isinstance(value, str):
        if value.startswith("@") and not value.startswith("@@"):
            match = REFERENCE.match(value)
            if not match:
                raise src.error(f"bad reference {value!r}: expected '@step' or '@step.field'", path)
            if match.group(1) not in earlier:
                hint = did_you_mean(match.group(1), sorted(earlier), "'@{}'")
                known = ", ".join(sorted(earlier)) or "none"
                raise src.error(f"reference {value!r} names no earlier step{hint}; earlier steps: {known}",
                                path)
        for var in VARIABLE.findall(value):
            if var not in variables:
                hint = did_you_mean(var, sorted(variables), "'${{{}}}'")
                raise src.error(f"unknown sweep variable '${{{var}}}'{hint}; defined: "
                                f"{', '.join(sorted(variables))}", path)


def references(value: Any) -> set[str]:
    """The steps named by ``@step`` references anywhere in a (validated) parameter value."""
    if isinstance(value, dict):
        return set().union(*(references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(references(v) for v in value))
    if isinstance(value, str) and value.startswith("@") and not value.startswith("@@"):
        match = REFERENCE.match(value)
        return {match.group(1)} if match else set()
    return set()



class StepFailed(Exception):
    """A reference to a step that did not produce its output."""


def resolve(value: Any, variables: dict[str, Any], outputs: dict[str, Any]) -> Any:
    """Substitute ``${var}`` and ``@step[.field]`` in a parameter value."""
    if isinstance(value, dict):
        return {k: resolve(v, variables, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, variables, outputs) for v in value]
    if not isinstance(value, str):
        return value
    if value.startswith("@@"):
        return value[1:]
    match = REFERENCE.match(value) if value.startswith("@") else None
    if match:
        step, fld = match.groups()
        if step not in outputs:
            raise StepFailed(f"step {step!r} did not complete")
        out = outputs[step]
        if fld is None:
            return out
        if not isinstance(out, dict) or fld not in out:
            have = ", ".join(out) if isinstance(out, dict) else f"a single {type(out).__name__}"
            raise KeyError(f"{value!r}: step {step!r} has no output {fld!r} (it has: {have})")
        return out[fld]
    whole = VARIABLE.fullmatch(value)
    if whole:
        return variables[whole.group(1)]
    return VARIABLE.sub(lambda m: str(variables[m.group(1)]), value)
