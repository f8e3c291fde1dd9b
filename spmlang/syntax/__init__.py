"""Stage 1: plan text to a syntax tree (``grammar/spm.lark``)."""

from spmlang.syntax.parser import parse

__all__ = ["parse"]
