"""YAML read within budgets: a document's bytes, nesting depth and node count after aliases are expanded.

`yaml.safe_load` never runs code, but it does not bound cost: a 391-byte document of nested aliases
("billion laughs") stands for 10^9 nodes that validation and error messages then walk, and a few
thousand nested brackets overflow the recursive composer (RecursionError). A suite is a few kilobytes,
so `load` first walks the document's events (`yaml.parse`: an iterative parser that builds nothing) in
one linear pass, counting each alias as the size of what it names, and refuses a document past a
budget in one line that names it and the line where it went over.
"""
from __future__ import annotations

import yaml

from nlpbench.errors import BadInput

MAX_BYTES = 1 << 20  # a shipped suite is ~2 KB
MAX_DEPTH = 32  # nesting of mappings and lists; the schema itself is 6 deep
MAX_NODES = 100_000  # scalars and collections, each alias counted as the size of its target


def load(text: str, what: str):
    """`yaml.safe_load(text)` once `text` fits the budgets; BadInput naming `what` otherwise.

    YAML syntax errors propagate as `yaml.YAMLError` (callers word those themselves)."""
    if len(text) > MAX_BYTES:
        raise BadInput(f"{what}: {len(text)} characters; a suite document may hold at most {MAX_BYTES}")
    check(text, what)
    try:
        return yaml.safe_load(text)
    except (ValueError, OverflowError) as e:  # a value YAML can't build: a 5000-digit int, a 13th month
        raise BadInput(f"{what}: a value YAML can't build ({str(e).splitlines()[0][:120]})") from None


def check(text: str, what: str) -> None:
    """BadInput when the document nests deeper than MAX_DEPTH or expands past MAX_NODES."""
    sizes = {}  # anchor -> expanded node count of what it names
    stack = [[None, 0]]  # open collections: [anchor, nodes so far]; the bottom one is the document
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) - 1 > MAX_DEPTH:
                raise BadInput(f"{what}: line {event.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, n = stack.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor, n = None, sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            anchor, n = event.anchor, 1
        else:
            continue
        if anchor:
            sizes[anchor] = n
        stack[-1][1] += n
        if sum(count for _, count in stack) > MAX_NODES:
            raise BadInput(f"{what}: line {event.start_mark.line + 1}: expands to more than {MAX_NODES} values "
                           "(nested aliases?); a suite needs far fewer")  # fmt: skip
