"""The operators of the rule engine (Cloud Custodian's ``OPERATORS``, with explanations).

Every check in every rule is ``key`` + ``op`` + operand. An operator gets the value at
``key`` and the resolved operand, and returns a verdict with a sentence that says what it
found: rules carry no code, so messages are made generically from the values (see
:mod:`auditor.rules.messages`).

Each operator is registered beside its function (``@register("equals", ...)``, its
docstring the operator's description), in the module for its kind: :mod:`.values` (one
value), :mod:`.urls`, :mod:`.digests` (secrets) and :mod:`.items` (lists and mappings
with a nested ``where:``). Importing this package fills :data:`OPERATORS`, in that order.

Operators never raise on odd data: a value of the wrong shape fails with a message that
says so. Secrets are compared only by ``digest_equals`` / ``digest_in``.
"""

# The kind modules register their operators on import; this order is the table's order.
from auditor.rules.operators import values, urls, digests, items  # noqa: F401, I001
from auditor.rules.operators.base import OPERATORS, Check, OperandKind, Operator, register

__all__ = ["OPERATORS", "Check", "OperandKind", "Operator", "register"]
