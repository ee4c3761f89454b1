"""The rule engine and its public interface.

Rules are data (``rules/<rule_id>.yaml``, one file per rule, plus ``rules/pack.yaml``);
this package loads them, validates them before any API call, and evaluates them against
a :class:`~auditor.snapshot.TenantSnapshot`::

    pack = load_rule_pack()                  # or load_rule_pack(path, overrides=...)
    results = pack.evaluate(snapshot)        # every rule once, in catalog order

See :mod:`auditor.rules.schema` for the file format and :mod:`auditor.rules.operators`
for the operator table.
"""

from auditor.rules.engine import Rule, RulePack
from auditor.rules.loader import default_rules_dir, load_rule_pack
from auditor.rules.operators import OPERATORS

__all__ = ["OPERATORS", "Rule", "RulePack", "default_rules_dir", "load_rule_pack"]
