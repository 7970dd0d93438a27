"""Jinja2 templates to messages: ``templates/email/<name>/{subject.txt,body.txt,body.html}``.

The HTML templates keep their CSS in a ``<style>`` block; rendering inlines it
into ``style`` attributes (css-inline), because several mail clients ignore
style blocks. A block marked ``data-css-inline="keep"`` stays as it is: media
queries (dark mode, narrow screens) cannot be inlined. The digest's bodies take
each paper from ``card.html`` / ``card.txt`` through ``card()``, which caches it.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
import textwrap
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import markupsafe

from digest.resources import resource_dir


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=16384)
def wrap(text: str, width: int = 72, indent: str = "", first_indent: str | None = None) -> str:
    """Wrap plain text for the text part, keeping long URLs whole.

    ``indent`` starts every line, unless ``first_indent`` is given for the first.
    Cached: a run's digests wrap the same titles and abstracts again and again.
    """
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent if first_indent is None else first_indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def create_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """Autoescape for .html (and strings), none for .txt; unknown variables are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir or resource_dir("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap
    env.globals["card"] = _card_renderer(env)
    return env


def _card_renderer(env: jinja2.Environment) -> Callable[[str, Hashable], str]:
    """``card(template, paper)``: one paper's part of a digest, rendered once per view.

    A run's digests show the same papers again and again, and the cards were most of
    the templates' time. A card template is given ``paper`` alone (anything else is an
    error, the environment's undefined being strict), so the view, which holds every
    value a card shows, is the whole of the cache key.
    """

    @lru_cache(maxsize=8192)
    def card(template: str, paper: Hashable) -> str:
        text = env.get_template(template).render(paper=paper)
        # Escaped already by the card template's own autoescape: not to be escaped again.
        return markupsafe.Markup(text) if template.endswith(".html") else text  # noqa: S704

    return card


def create_inliner() -> css_inline.CSSInliner:
    """Moves the CSS of the templates' style blocks into style attributes.

    Nothing is fetched: a template that links a remote stylesheet keeps the link
    unresolved rather than making rendering depend on the network.
    """
    return css_inline.CSSInliner(load_remote_stylesheets=False, minify_css=True)


class Renderer:
    def __init__(
        self, env: jinja2.Environment, inliner: css_inline.CSSInliner | None = None
    ) -> None:
        self._env = env
        self._inliner = inliner or create_inliner()

    def render(self, name: str, context: dict[str, Any]) -> RenderedEmail:
        def part(filename: str) -> str:
            return self._env.get_template(f"email/{name}/{filename}").render(context)

        subject = " ".join(part("subject.txt").split())  # one line, whatever the template did
        html = self._inliner.inline(part("body.html"))
        return RenderedEmail(subject=subject, text=part("body.txt"), html=html)


MAX_HEADER_LINE = 998  # octets a header line may hold (RFC 5322), its line end aside


class _UrlListHeader(UnstructuredHeader, BaseHeader):
    """``List-Unsubscribe`` (RFC 2369): ``<URL>, <URL>``, folded between entries only.

    The stdlib folds at 78 columns and, unable to break a long URL, would write it as
    RFC 2047 encoded words (``=?utf-8?q?=3Chttps...``): no mail client reads a link
    out of that, and one-click unsubscribe would be lost. Each entry gets a line of
    its own instead, as it is; only a value that cannot be written so is left to
    the stdlib.
    """

    def fold(self, *, policy: Policy) -> str:
        entries = re.split(r",\s*(?=<)", str(self))
        lines = [f"{self.name}: {entries[0]}", *(f" {entry}" for entry in entries[1:])]
        if not str(self).isascii() or max(len(line) + 1 for line in lines) > MAX_HEADER_LINE:
            return super().fold(policy=policy)
        return f",{policy.linesep}".join(lines) + policy.linesep


class _FoldedOnce(BaseHeader):
    """A header that remembers how it folds for each policy: see _HeaderRegistry."""

    def fold(self, *, policy: Policy) -> str:
        folded: dict[Policy, str] = self.__dict__.setdefault("_folded", {})
        if policy not in folded:
            folded[policy] = super().fold(policy=policy)
        return folded[policy]


class _HeaderRegistry(HeaderRegistry):
    """The stdlib's registry, with each header class made once and each header parsed once.

    HeaderRegistry builds a new class (``type(...)``) on every lookup, and building a
    digest looks one up some 36 times: that was a third of build_message's time. A
    class depends only on the header's name, so one per name serves every message.
    Most of a digest's headers (From, Subject, Date, the MIME ones) are the same in
    every message of a run; a header is immutable (a str, parsed once when made), so
    the one made for a name and value serves every message too, and it folds once.
    The policy refuses CR and LF in a value before it gets here.
    """

    def __init__(self) -> None:
        super().__init__(base_class=_FoldedOnce)
        self.map_to_type("list-unsubscribe", _UrlListHeader)
        self._class_for = lru_cache(maxsize=64)(super().__getitem__)
        self._header_for = lru_cache(maxsize=256)(super().__call__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        return self._class_for(name.lower())

    def __call__(self, name: str, value: Any) -> BaseHeader:
        return (
            self._header_for(name, value)
            if isinstance(value, str)
            else super().__call__(name, value)
        )


# SMTP (CRLF, headers validated) with the caching registry; used for building only.
MESSAGE_POLICY = SMTP.clone(header_factory=_HeaderRegistry())


def build_message(
    rendered: RenderedEmail, *, sender: str, recipient: str, headers: dict[str, str]
) -> EmailMessage:
    """A multipart/alternative message: the plain-text part first, then HTML.

    The SMTP policy refuses CR or LF in any header value, so nothing a
    subscriber or a listing controls can add a header.
    """
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    for name, value in headers.items():
        message[name] = value
    # The parts' headers come from set_content; their bodies are encoded by binascii,
    # several times faster than the email package's pure-Python quoted-printable.
    message.set_content("", cte="quoted-printable")
    message.add_alternative("", subtype="html", cte="quoted-printable")
    for part, body in zip(message.iter_parts(), (rendered.text, rendered.html), strict=True):
        ended = body if body.endswith("\n") else body + "\n"  # as set_content ends a body
        part.set_payload(binascii.b2a_qp(ended.encode(), istext=True).decode("ascii"))
    # The boundary, in the stdlib's format, is set here so that the generator does not
    # search the whole message for a line that collides with it (half a millisecond for
    # a digest). None can: in quoted-printable every "=" starts an escape ("=3D") or
    # ends a line, so no body line holds the "==" of the boundary.
    message.set_boundary(f"{'=' * 15}{random.randrange(sys.maxsize):019d}==")  # noqa: S311 (as the stdlib)
    return message
