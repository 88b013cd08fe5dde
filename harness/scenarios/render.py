"""Jinja rendering of scenario templates and step values, with errors that say where.

Templates are rendered per tenant, version and provider, so a mistake often shows only for
some of them; every undefined variable therefore names the template file and line (or the
``scenario.yaml`` line of the step value), never just "'x' is undefined". ``StrictUndefined``
makes a misspelt variable an error instead of an empty string that would apply an object
named ``tenant-`` or compare a field with "".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from harness.errors import InputError

#: Where a value sits, as ``file:line: field`` (from the scenario's ``locate``).
Locate = Callable[[tuple[str | int, ...]], str]

#: A string that is one ``{{ expression }}`` and nothing else keeps the expression's type.
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)

CONTEXT_HINT = "templates see tenant, peer, tenants, version, provider, capabilities, params and vars"


def utc_now(seconds: float = 0) -> str:
    """The time ``seconds`` from now (negative: ago) as the API writes times, RFC 3339 in UTC.

    For status a controller must act on at once (``apply`` with ``subresource: status``),
    e.g. a CronJob whose last scheduled time is more than a period ago.
    """
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def bare_expression(text: str) -> str:
    """A ``when`` may be written bare (``tenant.name == 'alpha'``) or wrapped in ``{{ }}``."""
    stripped = text.strip()
    if stripped.startswith("{{") and stripped.endswith("}}"):
        return stripped[2:-2].strip()
    return stripped


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value or "{#" in value


class Renderer:
    """Renders one scenario directory's templates and its steps' string values."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            autoescape=False,  # YAML, not HTML
        )
        self.env.globals["utc_now"] = utc_now
        self._strings: dict[str, jinja2.Template] = {}
        self._expressions: dict[str, Callable[..., Any]] = {}

    # -- template files -----------------------------------------------------------------

    def template_text(self, name: str, context: Mapping[str, Any]) -> str:
        """The rendered text of template ``name``."""
        path = self.directory / name
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound:
            raise InputError(f"{path}: no such template") from None
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or str(path)
            raise InputError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise InputError(
                f"{_template_frame(exc, str(path))}: undefined variable: {exc.message}", hint=CONTEXT_HINT
            ) from None
        except (TypeError, ValueError, ArithmeticError, jinja2.TemplateError) as exc:
            raise InputError(f"{_template_frame(exc, str(path))}: cannot render: {exc}") from None

    def template(self, name: str, context: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Kubernetes objects template ``name`` renders to, in document order."""
        text = self.template_text(name, context)
        path = self.directory / name
        try:
            documents = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 0
            shown = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
            raise InputError(
                f"{path}: rendered output is not valid YAML at its line {line}: {exc.problem or exc.context}",
                hint=f"that rendered line reads {shown.strip()!r}; check indentation and quoting",
            ) from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: rendered output is not valid YAML: {exc}") from None
        for index, document in enumerate(documents, start=1):
            problem = manifest_problem(document)
            if problem:
                raise InputError(f"{path}: rendered document {index} {problem}")
        return documents

    # -- values inside scenario.yaml ----------------------------------------------------

    def value(self, value: Any, context: Mapping[str, Any], locate: Locate, where: tuple[str | int, ...]) -> Any:
        """``value`` with every template string rendered (recursively through lists and maps)."""
        if isinstance(value, str):
            return self.string(value, context, locate, where) if is_template(value) else value
        if isinstance(value, dict):
            return {
                self.value(k, context, locate, where): self.value(v, context, locate, (*where, str(k)))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.value(v, context, locate, (*where, i)) for i, v in enumerate(value)]
        return value

    def string(self, text: str, context: Mapping[str, Any], locate: Locate, where: tuple[str | int, ...]) -> Any:
        single = _SINGLE_EXPRESSION.match(text)
        if single:
            return self.expression(single.group("expr"), context, locate, where)
        try:
            template = self._strings.get(text)
            if template is None:
                template = self._strings[text] = self.env.from_string(text)
            return template.render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"{locate(where)}: template syntax error: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise InputError(f"{locate(where)}: undefined variable: {exc.message}", hint=CONTEXT_HINT) from None
        except (TypeError, ValueError, ArithmeticError, jinja2.TemplateError) as exc:
            raise InputError(f"{locate(where)}: cannot render {text!r}: {exc}") from None

    def expression(self, text: str, context: Mapping[str, Any], locate: Locate, where: tuple[str | int, ...]) -> Any:
        """Evaluate a bare jinja expression (``tenant.name == 'alpha'``) to a Python value."""
        try:
            compiled = self._expressions.get(text)
            if compiled is None:
                compiled = self._expressions[text] = self.env.compile_expression(text, undefined_to_none=False)
            result = compiled(**context)
        except jinja2.TemplateSyntaxError as exc:
            raise InputError(f"{locate(where)}: expression syntax error in {text.strip()!r}: {exc.message}") from None
        except jinja2.UndefinedError as exc:
            raise InputError(f"{locate(where)}: undefined variable: {exc.message}", hint=CONTEXT_HINT) from None
        except (TypeError, ValueError, ArithmeticError, jinja2.TemplateError) as exc:
            raise InputError(f"{locate(where)}: cannot evaluate {text.strip()!r}: {exc}") from None
        if isinstance(result, jinja2.Undefined):
            why = result._undefined_message
            raise InputError(f"{locate(where)}: undefined variable: {text.strip()!r} ({why})", hint=CONTEXT_HINT)
        return result

    def syntax_check(self, value: Any, locate: Locate, where: tuple[str | int, ...]) -> None:
        """Compile (without rendering) every template string in ``value``: syntax errors at load time."""
        if isinstance(value, str) and is_template(value):
            single = _SINGLE_EXPRESSION.match(value)
            try:
                if single:
                    self.env.compile_expression(single.group("expr"))
                else:
                    self.env.from_string(value)
            except jinja2.TemplateSyntaxError as exc:
                raise InputError(f"{locate(where)}: template syntax error: {exc.message}") from None
        elif isinstance(value, dict):
            for k, v in value.items():
                self.syntax_check(k, locate, where)
                self.syntax_check(v, locate, (*where, str(k)))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                self.syntax_check(v, locate, (*where, i))


def manifest_problem(document: object) -> str | None:
    """Why ``document`` is not a Kubernetes object (None when it is one)."""
    if not isinstance(document, dict):
        return f"is a {type(document).__name__}, not a mapping"
    for key in ("apiVersion", "kind"):
        if not isinstance(document.get(key), str) or not document[key]:
            return f"has no {key}"
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        return f"({document['kind']}) has no metadata.name"
    return None


def _template_frame(exc: BaseException, fallback: str) -> str:
    """``file:line`` of the innermost template frame of ``exc`` (jinja maps frames to template lines)."""
    found = fallback
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
